"""The cache's ``manifest.json``: which version of each log file is cached, and where.

One JSON object, one line per log file, so that 500+ files cost a few hundred
kilobytes and a few milliseconds to read. Names are kept as text exactly as the file
system gave them (bytes that are not UTF-8 as lone surrogates, escaped by JSON); the
number in a name is parsed in Python, never by SQL. :func:`cache_totals` answers the
run-level totals from the manifest alone, without DuckDB.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .discover import LOG_NAME, Run, printable
from .errors import CacheError
from .outputs import atomic_write

#: Bump when the cache layout or meaning changes; older caches are then rebuilt.
CACHE_VERSION = 2
MANIFEST = "manifest.json"
SIDECARS = "sidecars"
KINDS = ("samples", "positions", "stats")
PACK_PREFIX = "pack-"
_INT64_MAX = (1 << 63) - 1


def sidecar_stem(file: str, size_bytes: int, mtime_ns: int) -> str:
    """Sidecar name stem of one version of a log file."""
    return f"{Path(file).stem}.{size_bytes}-{mtime_ns}"


def sidecar_paths(cache_dir: Path, stem: str) -> dict[str, Path]:
    """The three sidecar paths of a stem (a loose sidecar stem or a pack name)."""
    return {kind: cache_dir / SIDECARS / f"{stem}.{kind}.parquet" for kind in KINDS}


def parquet_ok(paths: Sequence[Path]) -> bool:
    """Whether each file starts and ends with the 4-byte ``PAR1`` mark of Parquet.

    Cost: one open and two 4-byte reads per file.
    """
    for path in paths:
        try:
            with open(path, "rb") as handle:
                head = handle.read(4)
                handle.seek(-4, os.SEEK_END)
                if head != b"PAR1" or handle.read(4) != b"PAR1":
                    return False
        except OSError:
            return False
    return True


def new_pack_name() -> str:
    """A fresh pack name (random, so two packs never share one)."""
    return f"{PACK_PREFIX}{secrets.token_hex(6)}"




def file_seconds(name: str) -> int | None:
    """The ``<unix_seconds>`` of a log file name as a BIGINT: None without a number, or
    when the number does not fit in a signed 64-bit integer."""
    match = LOG_NAME.match(name)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value <= _INT64_MAX else None


def order_key(name: str) -> tuple[int, int, str]:
    """File order: by :func:`file_seconds`, ties by name; names without a usable
    number after every numbered one, by name. Names compare as :func:`display_name`."""
    seconds = file_seconds(name)
    shown = printable(name)
    return (1, 0, shown) if seconds is None else (0, seconds, shown)


@dataclass
class Manifest:
    """The parsed manifest: per-file records, packs, and the bytes it was read from."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: pack name → number of log files whose rows it was written with.
    packs: dict[str, int] = field(default_factory=dict)
    #: the file's bytes as read (None when there was no usable manifest).
    raw: bytes | None = None
    #: why an existing manifest was discarded, if it was.
    note: str | None = None

    def encode(self) -> bytes:
        """The manifest's bytes: files in file order, one line each."""
        names = sorted(self.files, key=order_key)
        lines = [
            json.dumps(name) + ":" + json.dumps(self.files[name], separators=(",", ":"))
            for name in names
        ]
        head = json.dumps(
            {"cache_version": CACHE_VERSION, "pokeviz_version": __version__,
             "packs": dict(sorted(self.packs.items()))},
            separators=(",", ":"),
        )
        return (head[:-1] + ',"files":{\n' + ",\n".join(lines) + "}}\n").encode()


def load_manifest(cache_dir: Path) -> Manifest:
    """Read ``cache_dir/manifest.json``; an empty :class:`Manifest` when absent.

    A manifest that cannot be parsed, or of another :data:`CACHE_VERSION`, is returned
    empty with a ``note`` saying so (the cache is then rebuilt). Cost: one read and one
    ``json.loads``, O(files).
    """
    path = cache_dir / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Manifest()
    except OSError as exc:
        return Manifest(note=f"{path}: unreadable manifest ({exc.strerror}); rebuilding the cache")
    try:
        data = json.loads(raw)
        version = data.get("cache_version")
        files = data["files"]
        packs = data.get("packs", {})
        if not isinstance(files, dict) or not isinstance(packs, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        return Manifest(note=f"{path}: unreadable manifest; rebuilding the cache")
    if version != CACHE_VERSION:
        return Manifest(note=(
            f"{path}: cache version {version} is not {CACHE_VERSION} "
            f"(written by pokeviz {data.get('pokeviz_version')}); rebuilding the cache"
        ))
    return Manifest(files=files, packs=packs, raw=raw)


def read_manifest(cache_dir: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The manifest's per-file records (name → record) and a note when it was discarded."""
    manifest = load_manifest(cache_dir)
    return manifest.files, manifest.note


def write_manifest(cache_dir: Path, manifest: Manifest) -> bool:
    """Write the manifest atomically unless its bytes would not change.

    Returns:
        Whether the file was written.

    Raises:
        OutputError: it cannot be written.
    """
    data = manifest.encode()
    if data == manifest.raw:
        return False
    atomic_write(cache_dir / MANIFEST, data)
    manifest.raw = data
    return True


def global_steps(files: dict[str, dict[str, Any]]) -> list[tuple[str, int | None, int | None]]:
    """(name, first_global_step, last_global_step) per file, in file order.

    The rule of the ``files`` view: a file with ``n`` entries ends at its
    ``total_steps`` when it has one, else at the running sum of the entries of this and
    every earlier file; it starts ``n - 1`` steps earlier. No entries: (None, None).
    """
    out = []
    running = 0
    for name in sorted(files, key=order_key):
        record = files[name]
        entries = int(record.get("entries") or 0)
        running += entries
        if entries > 0:
            last = record.get("total_steps")
            last = running if last is None else int(last)
            out.append((name, last - entries + 1, last))
        else:
            out.append((name, None, None))
    return out


@dataclass
class CacheTotals:
    """Run-level totals of a cache, from its manifest alone."""

    files: int = 0
    entries: int = 0
    first_global_step: int | None = None
    last_global_step: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)


def cache_totals(run: Run) -> CacheTotals:
    """Files, entries, global step range and per-status file counts of a run's cache.

    Equal to ``SELECT count(*), sum(entries), min(first_global_step),
    max(last_global_step) FROM files`` and the status counts of the ``files`` view, but
    computed from the manifest in Python: O(files), no DuckDB, no sidecar read (a few
    milliseconds for 500 files). Cheap enough for every ``watch`` status line.

    Raises:
        CacheError: the run has no usable cache.
    """
    manifest = load_manifest(run.cache_dir)
    if manifest.raw is None:
        raise CacheError(
            f"{run.cache_dir}: no usable cache; run `pokeviz ingest {run.path}` first"
        )
    totals = CacheTotals(files=len(manifest.files))
    for record in manifest.files.values():
        totals.entries += int(record.get("entries") or 0)
        status = record.get("status")
        totals.statuses[status] = totals.statuses.get(status, 0) + 1
    steps = [(first, last) for _, first, last in global_steps(manifest.files) if last is not None]
    if steps:
        totals.first_global_step = min(first for first, _ in steps)
        totals.last_global_step = max(last for _, last in steps)
    return totals
