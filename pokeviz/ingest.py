"""One log file → one :class:`FileSummary`, in a single pass with bounded memory.

This module decides how a file is read (its edges: empty, not an array, complete or
still being written) and holds the one tail check, :func:`looks_complete`. Two readers
give the same summary for the same file:

* the **fast path** (:mod:`pokeviz.ingest_fast`; complete files up to
  ``fast_path_max_bytes``): msgspec decodes slices of the file into typed structs
  holding only the fields pokeviz reads;
* the **streaming path** (:mod:`pokeviz.ingest_stream`; everything else, and whatever
  the fast path rejects): ``ijson`` (C backend) yields one entry at a time.

Both feed the same :class:`pokeviz.ingest_summary.SummaryBuilder` with the same
fixed-size blocks of canonical columns, so statistics are computed over identical arrays
in the identical order.

Bad-input policy (each case is reported in the summary, never raised):

==================================  =======  ===============================================
input                               status   what is kept
==================================  =======  ===============================================
``NaN``/``Infinity``/``-Infinity``  ok       the value is NULL and counted in bad_values
number beyond float64 (``1e400``)   ok       in a field pokeviz reads: NULL, counted in
or integer beyond int64                      bad_values; elsewhere ignored; entry kept
non-numeric value for a number      ok       the value is NULL and counted in bad_values
NULL ``map``, ``x`` or ``y``        ok       the entry; its tile is not counted
entry that is not an object         ok       skipped, counted in skipped_entries
UTF-8 byte-order mark               ok       skipped, noted in ``warning``
file cut off (not ending ``}]``)    partial  every complete entry; read again on change
0 bytes, whitespace only, ``[]``    empty    nothing
top-level object / not an array     error    nothing
nested deeper than 64 levels        error    nothing (memory stays bounded)
syntax error, trailing garbage      error    every complete entry before the problem
FIFO, device, socket, folder        error    nothing (never opened for blocking reads)
file deleted after listing          error    nothing ("vanished"); dropped next update
unreadable file (permissions…)      error    nothing
==================================  =======  ===============================================

Statistics are exact for any finite values, including ones near ±1.7e308 (scaled by a
power of two before summing, see :class:`pokeviz.ingest_summary.SummaryBuilder`).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from .ingest_stream import BOM, ijson_backend, streaming_path
from .ingest_summary import (
    SAMPLES_PER_FILE,
    FileSummary,
    sample_indices,
    sample_key,
    warn,
)
from .nonfinite import NonFiniteFilter, replace_non_finite

__all__ = [
    "FAST_PATH_MAX_BYTES",
    "SAMPLES_PER_FILE",
    "Edges",
    "FileSummary",
    "NonFiniteFilter",
    "ijson_backend",
    "ingest_file",
    "looks_complete",
    "open_log",
    "read_edges",
    "replace_non_finite",
    "sample_indices",
    "sample_key",
]

#: Largest file the fast path takes (bigger files are streamed). A file without any
#: entry boundary the fast path can cut at is read whole, so this also bounds the fast
#: path's memory for one file.
FAST_PATH_MAX_BYTES = 256 * 1024 * 1024


#: Bytes read at each end of a file to find its first and last non-space bytes.
EDGE_BYTES = 4096


@dataclass(frozen=True)
class Edges:
    """What the two ends of a log file say, read without parsing it."""

    #: Whether the file starts with a UTF-8 byte-order mark.
    bom: bool
    #: The first non-space byte after any byte-order mark (``b""`` when there is none).
    first: bytes
    #: Whether the file ends like a finished ``json.dump``: ``}`` then ``]`` (or ``[]``).
    complete: bool


def _ends_complete(tail: bytes) -> bool:
    # Entries hold objects and lists of numbers but never lists of objects, so ``}``
    # followed by ``]`` only occurs where the top-level array closes; a file cut right
    # after an inner list (``"levels": [6, 0]``) ends in ``]`` and is not complete.
    tail = tail.rstrip()
    return tail.endswith(b"]") and tail[:-1].rstrip()[-1:] in (b"}", b"[")


def read_edges(handle: BinaryIO, size: int) -> Edges:
    """The :class:`Edges` of an open file of ``size`` bytes; leaves it at offset 0.

    Cost: two reads of at most :data:`EDGE_BYTES` bytes.

    Raises:
        OSError: the file cannot be read.
    """
    head = handle.read(EDGE_BYTES)
    bom = head.startswith(BOM)
    if bom:
        head = head[len(BOM) :]
    first = head.lstrip()[:1]
    handle.seek(max(0, size - EDGE_BYTES))
    complete = _ends_complete(handle.read(EDGE_BYTES))
    handle.seek(0)
    return Edges(bom, first, complete)


def looks_complete(path: str | Path) -> bool:
    """Whether a log file ends like a finished ``json.dump`` (see :class:`Edges`).

    The one tail check of pokeviz: ``ingest_file`` uses it to pick the fast path and
    to tell a file still being written (``partial``) from a broken one, and ``watch``
    to know when a file is finished. False when the file cannot be read.

    Cost: one open and a read of at most :data:`EDGE_BYTES` bytes at each end.
    """
    opened = open_log(path)
    if isinstance(opened, str):
        return False
    handle, stat = opened
    with handle:
        try:
            return read_edges(handle, stat.st_size).complete
        except OSError:
            return False


def open_log(path: str | Path) -> tuple[BinaryIO, os.stat_result] | str:
    """Open a log file for reading without ever blocking.

    A FIFO, device or socket named like a log would block ``open()`` or a read forever,
    so the file is opened with ``O_NONBLOCK`` and checked with ``fstat`` (the same inode
    that is then read, whatever is renamed meanwhile).

    Returns:
        ``(binary handle, stat)``, or a one-line reason it cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return "the file vanished before it could be read (deleted or renamed meanwhile)"
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO without writer on some systems)
            return _NOT_REGULAR
        return f"cannot open: {exc.strerror}; check permissions"
    try:
        stat = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        return f"cannot read: {exc.strerror}"
    if not S_ISREG(stat.st_mode):
        os.close(fd)
        return _NOT_REGULAR
    return os.fdopen(fd, "rb"), stat


_NOT_REGULAR = "not a regular file (a FIFO, device, socket or folder); it is not read"


def ingest_file(path: str | Path, *, fast_path_max_bytes: int = FAST_PATH_MAX_BYTES) -> FileSummary:
    """Summarize one log file; never raises for bad content.

    Args:
        path: a ``stats_*.json`` file of any generation.
        fast_path_max_bytes: files up to this size that look complete are decoded by
            msgspec, in slices cut between entries; 0 forces the streaming path.

    Returns:
        The summary. ``size_bytes`` and ``mtime_ns`` are those seen *before* reading,
        so a file that grows meanwhile is stale at the next check.

    Cost: one read of the file (two when the fast path gives up). Memory: on the fast
    path, one slice (~512 KiB) and its decoded fields; O(one block + samples + tiles) on
    the streaming path. Never blocks on a FIFO or device. Deterministic.
    """
    path = Path(path)
    opened = open_log(path)
    if isinstance(opened, str):
        return FileSummary(path.name, 0, 0, status="error", format=None, error=opened)
    handle, stat = opened
    with handle:
        summary = FileSummary(path.name, stat.st_size, stat.st_mtime_ns)
        try:
            edges = read_edges(handle, stat.st_size)
        except OSError as exc:
            return _failed(summary, f"cannot read: {exc.strerror}")
        bom, first, complete = edges.bom, edges.first, edges.complete
        if bom:
            warn(summary, "UTF-8 byte-order mark skipped")
        if not first:
            summary.status = "empty"
            summary.error = (
                "empty file (0 bytes)" if stat.st_size == 0 else "file holds only white space"
            ) + "; training may not have written it yet"
            return summary
        if first != b"[":
            kind = "a JSON object" if first == b"{" else f"{first.decode(errors='replace')!r}"
            return _failed(
                summary,
                f"top level is {kind}, not an array of entries; is this a pokeviz stats log?",
            )
        if complete and stat.st_size <= fast_path_max_bytes:
            if bom:
                handle.read(len(BOM))
            from .ingest_fast import fast_path  # msgspec: imported by readers only

            if fast_path(summary, handle):
                return summary
            handle.seek(0)
        return streaming_path(summary, handle, bom, complete)


def _failed(summary: FileSummary, message: str) -> FileSummary:
    summary.status = "error"
    summary.error = message
    return summary
