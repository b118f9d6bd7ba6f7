"""Packs: many log files' sidecar rows in one Parquet file per kind, merged log-structured.

Opening a run reads each pack once instead of three files per log file, so the cost of
``connect`` grows with the data, not with the number of files. Packs are written by
:func:`pokeviz.cache.update_cache` only, under the run's writer lock.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import lock
from .discover import Run, printable
from .errors import CacheError
from .manifest import (
    KINDS,
    MANIFEST,
    SIDECARS,
    Manifest,
    load_manifest,
    new_pack_name,
    sidecar_paths,
)


def pack_loose(
    cache_dir: Path, manifest: Manifest, buffer: dict[str, dict[str, Any]], *,
    merge: bool = True,
) -> None:
    """Gather loose sidecars, and (``merge``) the small or mostly-dead packs, into one
    new pack. ``buffer``: tables of loose files already in memory (emptied after).

    A pack is merged when it holds no more live files than what is merged already (so
    pack sizes at least double from one to the next: about log2(N) packs) or when
    fewer than half of the files it was written with are still live.
    """
    from .sidecars import filter_files, gather, read_parquet, write_tables

    files = manifest.files
    loose = [n for n, e in files.items() if "sidecar" in e]
    live = Counter(e["pack"] for e in files.values() if "pack" in e)
    for pack in [p for p in manifest.packs if live[p] == 0]:
        del manifest.packs[pack]
    merged = len(loose)
    chosen = []
    for pack in sorted(manifest.packs, key=lambda p: (live[p], p)) if merge else ():
        if live[pack] <= merged or 2 * live[pack] < manifest.packs[pack]:
            chosen.append(pack)
            merged += live[pack]
    if not loose and not chosen:
        return
    parts: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    for pack in chosen:
        keep = {printable(n) for n, e in files.items() if e.get("pack") == pack}
        for kind, path in sidecar_paths(cache_dir, pack).items():
            parts[kind].append(filter_files(read_parquet(path), keep))
    for name in loose:
        tables = buffer.get(name)
        if tables is None:
            try:
                stem = files[name]["sidecar"]
                tables = {k: read_parquet(p) for k, p in sidecar_paths(cache_dir, stem).items()}
            except (OSError, ValueError):
                del files[name]  # unreadable leftovers: stale, read again next time
                continue
        for kind in KINDS:
            parts[kind].append(tables[kind])
    name = new_pack_name()
    write_tables(cache_dir, name, {kind: gather(parts[kind], kind) for kind in KINDS})
    for entry in files.values():
        if "sidecar" in entry or entry.get("pack") in chosen:
            entry.pop("sidecar", None)
            entry["pack"] = name
    for pack in chosen:
        del manifest.packs[pack]
    manifest.packs[name] = sum(1 for e in files.values() if e.get("pack") == name)
    buffer.clear()


def remove_unnamed(cache_dir: Path, manifest: Manifest) -> None:
    """Delete Parquet files the manifest does not name (old packs, packed loose files)."""
    keep = set()
    for stem in [*manifest.packs, *(e["sidecar"] for e in manifest.files.values()
                                    if "sidecar" in e)]:
        keep.update(path.name for path in sidecar_paths(cache_dir, stem).values())
    for entry in os.scandir(cache_dir / SIDECARS):
        if entry.name.endswith(".parquet") and entry.name not in keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


# ---------------------------------------------------------------------------
# Reading back


def sources(
    cache_dir: Path, manifest: Manifest, kind: str
) -> list[tuple[Path, set[str] | None]]:
    """The Parquet files holding ``kind`` rows of every file the manifest names.

    Returns:
        ``(path, names)`` per pack and loose sidecar: ``names`` is None when every row
        of the file is current, else the display names of the log files to keep (a
        pack some of whose files were removed or read again since).
    """
    by_pack: dict[str, set[str]] = {}
    out: list[tuple[Path, set[str] | None]] = []
    for name, entry in manifest.files.items():
        if "pack" in entry:
            by_pack.setdefault(entry["pack"], set()).add(printable(name))
        else:
            out.append((sidecar_paths(cache_dir, entry["sidecar"])[kind], None))
    for pack, names in sorted(by_pack.items()):
        complete = manifest.packs.get(pack) == len(names)
        out.insert(0, (sidecar_paths(cache_dir, pack)[kind], None if complete else names))
    return out


def load_tables(
    cache_dir: Path, manifest: Manifest, kinds: Iterable[str] = KINDS
) -> dict[str, Any]:
    """The rows of every file the manifest names, per kind, as Arrow tables.

    Call it under :func:`pokeviz.lock.reading`. Cost: one read per pack and per loose
    sidecar (a few files once packed). Returns None for a kind without any file.

    Raises:
        CacheError: a Parquet file is missing or unreadable.
    """
    from .sidecars import filter_files, gather, read_parquet

    out: dict[str, Any] = {}
    for kind in kinds:
        parts = []
        try:
            for path, names in sources(cache_dir, manifest, kind):
                data = read_parquet(path)
                parts.append(data if names is None else filter_files(data, names))
        except (OSError, ValueError) as exc:
            raise CacheError(
                f"{cache_dir / SIDECARS}: a cached summary cannot be read ({exc}); "
                "run `pokeviz ingest --rebuild` on the run"
            ) from exc
        out[kind] = gather(parts, kind) if parts else None
    return out


#: One log file's distinct tiles from one Parquet file; DuckDB reads the ``file``
#: column first and decodes the other columns only where it matches.
_FILE_POSITIONS_SQL = (
    "SELECT map, x, y, visits FROM read_parquet(?) WHERE file = ? ORDER BY map, y, x"
)
_POSITION_COLUMNS = ("map", "x", "y", "visits")


def _manifest_stamp(cache_dir: Path) -> tuple[int, int, int] | None:
    """Identity of the manifest file: it is replaced by a rename on every write."""
    try:
        st = os.stat(cache_dir / MANIFEST)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _positions_paths(cache_dir: Path, manifest: Manifest) -> dict[str, Path]:
    """The Parquet file holding the live positions rows of each cached log file."""
    return {
        printable(name): sidecar_paths(
            cache_dir, entry["pack"] if "pack" in entry else entry["sidecar"]
        )["positions"]
        for name, entry in manifest.files.items()
    }


def _arrow_file_rows(path: Path, name: str) -> dict[str, np.ndarray]:
    """One file's rows through Arrow, batch by batch (for paths DuckDB cannot open)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parts: dict[str, list[np.ndarray]] = {c: [] for c in _POSITION_COLUMNS}
    with open(path, "rb") as handle:
        for batch in pq.ParquetFile(handle).iter_batches(
            batch_size=65_536, columns=["file", *_POSITION_COLUMNS]
        ):
            mine = batch.filter(pc.equal(batch.column("file"), name))
            for c in _POSITION_COLUMNS:
                parts[c].append(mine.column(c).to_numpy(zero_copy_only=False))
    rows = {c: np.concatenate(v) if v else np.zeros(0, np.int64) for c, v in parts.items()}
    order = np.lexsort((rows["x"], rows["y"], rows["map"]))
    return {c: v[order] for c, v in rows.items()}


def file_positions(
    run: Run, files: Iterable[str]
) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
    """Exact visits per tile of single log files, one file at a time, in the order given.

    Args:
        run: the run.
        files: display names of log files (the ``file`` column of the views).

    Yields:
        ``(file, {"map", "x", "y", "visits": int64 arrays})``, rows ordered by
        ``(map, y, x)``.

    Cost: per file, one filtered scan of the one pack (or loose sidecar) that holds it;
    memory holds that file's distinct tiles, never the whole positions table. Each read
    happens under :func:`pokeviz.lock.reading`; the manifest is read again only when a
    writer replaced it in between.

    Raises:
        CacheError: no usable cache, a name is not cached, or its Parquet file cannot
            be read.
    """
    import duckdb

    cache_dir = run.cache_dir
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads = 1")
        con.execute("SET enable_progress_bar = false")
        stamp: tuple[int, int, int] | None = None
        where: dict[str, Path] | None = None
        for name in files:
            with lock.reading(cache_dir):
                now = _manifest_stamp(cache_dir)
                if where is None or now != stamp:
                    manifest = load_manifest(cache_dir)
                    if manifest.raw is None:
                        raise CacheError(
                            f"{cache_dir}: no usable cache; run `pokeviz ingest {run.path}`")
                    stamp, where = now, _positions_paths(cache_dir, manifest)
                path = where.get(name)
                if path is None:
                    raise CacheError(f"{cache_dir}: {name} is not in the cache; "
                                     f"run `pokeviz ingest {run.path}`")
                try:
                    try:
                        text = str(path)
                        text.encode()
                    except UnicodeEncodeError:
                        rows = _arrow_file_rows(path, name)
                    else:
                        rows = con.execute(_FILE_POSITIONS_SQL, [text, name]).fetchnumpy()
                except (OSError, ValueError, duckdb.Error) as exc:
                    raise CacheError(
                        f"{path}: a cached summary cannot be read "
                        f"({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                        "run `pokeviz ingest --rebuild` on the run"
                    ) from exc
            yield name, {c: np.asarray(rows[c], dtype=np.int64) for c in _POSITION_COLUMNS}
    finally:
        con.close()
