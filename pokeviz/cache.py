"""FileSummary ⇄ Parquet sidecars under ``<run>/plots/.cache/``, a manifest, staleness.

The incremental contract (the same words are in ``cache/README.md``):

* Every log file ``stats_*.json`` has one set of sidecars, named for the log file and
  the size and modification time it had when it was read::

      .cache/manifest.json
      .cache/sidecars/<stem>.<size_bytes>-<mtime_ns>.samples.parquet
      .cache/sidecars/<stem>.<size_bytes>-<mtime_ns>.positions.parquet
      .cache/sidecars/<stem>.<size_bytes>-<mtime_ns>.stats.parquet

* A log file is **stale**, and read again, when it is not in the manifest, when its size
  or mtime differ from the manifest's, or when one of its sidecars is missing or not a
  Parquet file. Otherwise it is not opened at all.
* A **partial** file (cut off while training writes it) keeps its complete entries and
  is stale again as soon as it grows.
* A log file that disappears from ``json_logs/`` is dropped from the manifest and its
  sidecars are deleted.
* A manifest of another ``CACHE_VERSION`` (or one that cannot be read) is discarded and
  every file is read again, with a note.
* Writes are atomic: sidecars and manifest are written to a temporary file and renamed.
  The manifest only names sidecars that were completely written, so a process killed at
  any moment leaves a cache the next run reads correctly; sidecars that no manifest names
  are deleted by the next update.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .discover import Run, file_order_key, file_seconds, list_log_files
from .errors import CacheError
from .formats import CORE_COLUMNS, INT_COLUMNS
from .ingest import FAST_PATH_MAX_BYTES, FileSummary, ingest_file

#: Bump when the sidecar layout or meaning changes; older caches are then rebuilt.
CACHE_VERSION = 1
MANIFEST = "manifest.json"
SIDECARS = "sidecars"
KINDS = ("samples", "positions", "stats")
POSITION_COLUMNS = ("map", "x", "y", "visits", "first_entry_index")
#: Seconds between manifest writes while many files are ingested (and always at the end).
MANIFEST_WRITE_SECONDS = 1.0

_INT_SET = frozenset(INT_COLUMNS) | {"entry_index", "sample_key"}


@dataclass
class CacheUpdate:
    """What :func:`update_cache` did. ``problems`` lists (file, status, message)."""

    files: int = 0
    new: int = 0
    reread: int = 0
    unchanged: int = 0
    removed: int = 0
    ingested: list[str] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    parsers: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Atomic writes


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _atomic_write_table(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# FileSummary → Parquet


# Arrays are built from buffers: ``pa.array``/``pa.table`` import pandas (~0.2 s and
# ~45 MB per process) only to check whether their argument is a DataFrame.


def _numbers(values: Any, kind: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    """An int64/float64 Arrow array of ``values``; null where ``mask`` is True."""
    data = np.ascontiguousarray(values, dtype=kind.to_pandas_dtype())
    nulls = 0 if mask is None else int(np.count_nonzero(mask))
    validity = pa.py_buffer(np.packbits(~mask, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(kind, len(data), [validity, pa.py_buffer(data)], nulls)


def _strings(values: list[str]) -> pa.Array:
    """A string Arrow array of ``values``."""
    encoded = [value.encode() for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])


def _table(columns: dict[str, pa.Array]) -> pa.Table:
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def _column(name: str, values: np.ndarray) -> pa.Array:
    mask = np.isnan(values) if values.dtype.kind == "f" else None
    if name in _INT_SET:
        filled = np.where(mask, 0, values) if mask is not None else values
        return _numbers(filled.astype(np.int64), pa.int64(), mask)
    return _numbers(values, pa.float64(), mask)


def summary_tables(summary: FileSummary) -> dict[str, pa.Table]:
    """The three sidecar tables of one summary (schema documented in ``cache/README.md``)."""
    n_samples = len(summary.samples.get("entry_index", ()))
    samples = {"file": _strings([summary.file] * n_samples)}
    # A file without entries still gets every standard column, so that a run whose
    # files all failed still has the documented schema.
    empty = np.array([], dtype=np.float64)
    for name in dict.fromkeys(("entry_index", "sample_key", *CORE_COLUMNS, *summary.samples)):
        samples[name] = _column(name, summary.samples.get(name, empty))
    positions = {"file": _strings([summary.file] * len(summary.positions.get("map", ())))}
    for name in POSITION_COLUMNS:
        positions[name] = _numbers(summary.positions.get(name, []), pa.int64())
    stats = {
        "file": _strings([summary.file] * len(summary.stats)),
        "metric": _strings([row[0] for row in summary.stats]),
        "n": _numbers([row[1] for row in summary.stats], pa.int64()),
        "min": _numbers([row[2] for row in summary.stats], pa.float64()),
        "max": _numbers([row[3] for row in summary.stats], pa.float64()),
        "mean": _numbers([row[4] for row in summary.stats], pa.float64()),
        "std": _numbers([row[5] for row in summary.stats], pa.float64()),
    }
    return {
        "samples": _table(samples),
        "positions": _table(positions),
        "stats": _table(stats),
    }


def sidecar_stem(file: str, size_bytes: int, mtime_ns: int) -> str:
    """Sidecar name stem of one version of a log file."""
    return f"{Path(file).stem}.{size_bytes}-{mtime_ns}"


def sidecar_paths(cache_dir: Path, stem: str) -> dict[str, Path]:
    """The three sidecar paths of a stem."""
    return {kind: cache_dir / SIDECARS / f"{stem}.{kind}.parquet" for kind in KINDS}


def manifest_entry(summary: FileSummary) -> dict[str, Any]:
    """The manifest record of a summary (everything but the sidecar contents)."""
    return {
        "size_bytes": summary.size_bytes,
        "mtime_ns": summary.mtime_ns,
        "seconds": file_seconds(summary.file),
        "status": summary.status,
        "format": summary.format,
        "entries": summary.entries,
        "bad_values": summary.bad_values,
        "skipped_entries": summary.skipped_entries,
        "total_steps": summary.total_steps,
        "error": summary.error,
        "warning": summary.warning,
        "parser": summary.parser,
        "sidecar": sidecar_stem(summary.file, summary.size_bytes, summary.mtime_ns),
    }


def write_sidecars(summary: FileSummary, cache_dir: Path) -> dict[str, Any]:
    """Write one summary's sidecars atomically; return its manifest entry."""
    entry = manifest_entry(summary)
    paths = sidecar_paths(cache_dir, entry["sidecar"])
    for kind, table in summary_tables(summary).items():
        _atomic_write_table(table, paths[kind])
    return entry


def _ingest_to_cache(path: str, cache_dir: str, fast_path_max_bytes: int) -> dict[str, Any]:
    """Worker job: read one log file and write its sidecars (runs in a pool process)."""
    summary = ingest_file(path, fast_path_max_bytes=fast_path_max_bytes)
    entry = write_sidecars(summary, Path(cache_dir))
    entry["file"] = summary.file
    return entry


# ---------------------------------------------------------------------------
# Manifest


def read_manifest(cache_dir: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The manifest's file records, and a note when it had to be discarded."""
    path = cache_dir / MANIFEST
    if not path.exists():
        return {}, None
    try:
        data = json.loads(path.read_text())
        version = data.get("cache_version")
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, f"{path}: unreadable manifest; rebuilding the cache"
    if version != CACHE_VERSION:
        return {}, (
            f"{path}: cache version {version} is not {CACHE_VERSION} "
            f"(written by pokeviz {data.get('pokeviz_version')}); rebuilding the cache"
        )
    return files, None


def write_manifest(cache_dir: Path, files: dict[str, dict[str, Any]]) -> None:
    """Write the manifest atomically, files in file order."""
    ordered = {name: files[name] for name in sorted(files, key=file_order_key)}
    data = {"cache_version": CACHE_VERSION, "pokeviz_version": __version__, "files": ordered}
    atomic_write_bytes(cache_dir / MANIFEST, json.dumps(data, indent=1).encode())


def _sidecars_ok(cache_dir: Path, stem: str) -> bool:
    for path in sidecar_paths(cache_dir, stem).values():
        try:
            with open(path, "rb") as handle:
                head = handle.read(4)
                handle.seek(-4, os.SEEK_END)
                if head != b"PAR1" or handle.read(4) != b"PAR1":
                    return False
        except OSError:
            return False
    return True


# ---------------------------------------------------------------------------
# Bringing a run's cache up to date


ProgressCallback = Callable[[str, int], None]


def update_cache(
    run: Run,
    *,
    jobs: int | None = None,
    fast_path_max_bytes: int = FAST_PATH_MAX_BYTES,
    rebuild: bool = False,
    order: Callable[[list[Path]], Iterable[Path]] | None = None,
    progress: Callable[[int, int], Any] | None = None,
    only: Iterable[str] | None = None,
) -> CacheUpdate:
    """Bring the sidecars of ``run`` up to date with its log files.

    Args:
        run: the run (see :func:`pokeviz.discover.resolve_run`).
        jobs: worker processes for reading files (default: number of CPU cores).
        fast_path_max_bytes: passed to :func:`pokeviz.ingest.ingest_file`.
        rebuild: read every file again, whatever the manifest says.
        order: reorders the stale files before they are read (tests use it to show
            that the result does not depend on processing order).
        progress: called as ``progress(bytes_done, bytes_total)`` after each file.
        only: check and read only these file names; every other file keeps its cached
            state, or stays out of the cache until a later update if it has none
            (deleted files are still dropped). Used by ``watch``.

    Returns:
        Counts of new, re-read, unchanged and removed files, and the problems found.

    Cost: one ``stat`` per log file and four small reads per cached file; each stale
    file is read once. Deterministic: the cache contents depend only on the log files.

    Raises:
        CacheError: the cache folder cannot be created or written.
    """
    started = time.perf_counter()
    cache_dir = run.cache_dir
    try:
        (cache_dir / SIDECARS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(f"{cache_dir}: cannot create the cache folder ({exc.strerror})") from exc
    report = CacheUpdate()
    manifest, note = read_manifest(cache_dir)
    if note:
        report.notes.append(note)
    logs = list_log_files(run)
    report.files = len(logs)
    present = {p.name for p in logs}
    for name in [n for n in manifest if n not in present]:
        del manifest[name]
        report.removed += 1
    wanted = None if only is None else set(only)
    stale: list[Path] = []
    sizes: dict[Path, int] = {}
    for path in logs:
        cached = manifest.get(path.name)
        if wanted is not None and path.name not in wanted:
            report.unchanged += cached is not None
            continue
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat: dropped next time
        fresh = (
            cached is not None
            and not rebuild
            and cached.get("size_bytes") == stat.st_size
            and cached.get("mtime_ns") == stat.st_mtime_ns
        )
        if fresh and not _sidecars_ok(cache_dir, cached["sidecar"]):
            report.notes.append(f"{path.name}: cached summary unreadable; reading the file again")
            fresh = False
        if fresh:
            report.unchanged += 1
        else:
            stale.append(path)
            sizes[path] = stat.st_size
            if cached is None:
                report.new += 1
            else:
                report.reread += 1
    if order is not None:
        stale = list(order(stale))
    _ingest_all(stale, sizes, cache_dir, manifest, report, jobs, fast_path_max_bytes, progress)
    write_manifest(cache_dir, manifest)
    _remove_orphans(cache_dir, manifest)
    for name, entry in manifest.items():
        if entry["status"] != "ok":
            report.problems.append((name, entry["status"], entry.get("error") or ""))
        else:
            notes = [entry["warning"]] if entry.get("warning") else []
            if entry.get("bad_values"):
                notes.append(f"{entry['bad_values']} bad values read as NULL")
            if notes:
                report.problems.append((name, "ok", "; ".join(notes)))
    report.elapsed_seconds = time.perf_counter() - started
    return report


def _ingest_all(
    stale: list[Path],
    sizes: dict[Path, int],
    cache_dir: Path,
    manifest: dict[str, dict[str, Any]],
    report: CacheUpdate,
    jobs: int | None,
    fast_path_max_bytes: int,
    progress: Callable[[int, int], Any] | None,
) -> None:
    total, done = sum(sizes.values()), 0
    last_write = time.monotonic()
    jobs = max(1, jobs or os.cpu_count() or 1)

    def record(entry: dict[str, Any], path: Path) -> None:
        nonlocal done, last_write
        name = entry.pop("file")
        manifest[name] = entry
        report.ingested.append(name)
        report.parsers[entry["parser"]] = report.parsers.get(entry["parser"], 0) + 1
        done += sizes[path]
        if progress is not None:
            progress(done, total)
        if time.monotonic() - last_write >= MANIFEST_WRITE_SECONDS:
            write_manifest(cache_dir, manifest)
            last_write = time.monotonic()

    if jobs == 1 or len(stale) <= 1:
        for path in stale:
            record(_ingest_to_cache(str(path), str(cache_dir), fast_path_max_bytes), path)
        return
    with ProcessPoolExecutor(max_workers=min(jobs, len(stale))) as pool:
        futures = {
            pool.submit(_ingest_to_cache, str(p), str(cache_dir), fast_path_max_bytes): p
            for p in stale
        }
        for future in as_completed(futures):
            record(future.result(), futures[future])


def _remove_orphans(cache_dir: Path, manifest: dict[str, dict[str, Any]]) -> None:
    keep = {
        path.name
        for entry in manifest.values()
        for path in sidecar_paths(cache_dir, entry["sidecar"]).values()
    }
    for path in (cache_dir / SIDECARS).iterdir():
        if path.name not in keep:
            path.unlink(missing_ok=True)


def clear_cache(run: Run) -> None:
    """Delete a run's cache (the next update reads every file again)."""
    import shutil

    if run.cache_dir.exists():
        shutil.rmtree(run.cache_dir)
