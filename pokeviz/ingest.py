"""One log file → one :class:`FileSummary`, in a single pass with bounded memory.

Two readers give byte-for-byte the same summary for the same file:

* the **fast path** (complete files up to ``fast_path_max_bytes``): msgspec decodes
  the file into typed structs holding only the fields pokeviz reads. Pretty-printed
  files (``indent=2``, as the nested generations are written) are decoded in slices of
  ~``SLICE_BYTES`` cut between top-level entries, so memory is O(slice) whatever the
  file size; compact files are read whole;
* the **streaming path** (everything else, and whatever the fast path rejects): ``ijson``
  (C backend) yields one entry at a time; memory is O(block + samples + tiles).

Both feed the same :class:`SummaryBuilder` with the same fixed-size blocks of canonical
columns, so statistics are computed over identical arrays in the identical order.

Bad-input policy (each case is reported in the summary, never raised):

=================================  =========  =============================================
input                              status     what is kept
=================================  =========  =============================================
``NaN``/``Infinity``/``-Infinity``  ok         the value is NULL and counted in bad_values
non-numeric value for a number     ok         the value is NULL and counted in bad_values
entry that is not an object        ok         skipped, counted in skipped_entries
UTF-8 byte-order mark              ok         skipped, noted in ``warning``
file cut off (no closing ``]``)    partial    every complete entry; read again on change
0 bytes, whitespace only, ``[]``   empty      nothing
top-level object / not an array    error      nothing
syntax error, trailing garbage     error      every complete entry before the problem
unreadable file (permissions…)     error      nothing
=================================  =========  =============================================
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import msgspec
import numpy as np

from .formats import (
    CORE_COLUMNS,
    FLAT_STANDARD_DECODER,
    FORMATS,
    NESTED_DECODER,
    NESTED_DECODER_ANY_COMPONENTS,
    NESTED_KEYS,
    STAT_COLUMNS,
    canonical_entry,
    entry_format,
    flat_columns,
    flat_decoder,
    nested_columns,
)

#: Samples kept per file, spread evenly over its entries.
SAMPLES_PER_FILE = 100
#: Candidate rows kept while streaming (a multiple of SAMPLES_PER_FILE); bounds memory
#: and makes the largest gap between samples at most ~1.5 n / SAMPLES_PER_FILE.
SAMPLE_CANDIDATES = 4 * SAMPLES_PER_FILE
#: Entries per block handed to the :class:`SummaryBuilder` (both paths use the same).
BLOCK_ENTRIES = 8192
#: Largest file the fast path takes (bigger files are streamed). A compact file is
#: read whole, so this is also the fast path's memory budget for one file.
FAST_PATH_MAX_BYTES = 256 * 1024 * 1024
#: Bytes read per slice by the fast path on pretty-printed files. Small slices keep the
#: decoded structs in the CPU caches: measured on 29 MB nested files, 512 KiB slices were
#: ~1.5x faster than whole-file decoding and added ~8 MB to the peak instead of ~65 MB.
SLICE_BYTES = 512 * 1024
#: What lies between two top-level entries of a file written with ``indent=2``. JSON
#: strings cannot hold a raw newline, so this never matches inside a value: cutting
#: after its ``}`` and before its ``{`` splits the array into whole entries.
_ENTRY_BOUNDARY = b"\n  },\n  {"

STATUSES = ("ok", "partial", "empty", "error")
BOM = b"\xef\xbb\xbf"


@dataclass
class FileSummary:
    """Everything pokeviz keeps of one log file.

    Invariants: ``sum(positions["visits"])`` is the number of entries with a map, x and
    y; ``len(samples["entry_index"]) == min(SAMPLES_PER_FILE, entries)``; statistics are
    exact over all entries. Deterministic: a function of the file's bytes and name only.
    """

    file: str
    size_bytes: int
    mtime_ns: int
    status: str = "ok"
    format: str | None = None
    entries: int = 0
    bad_values: int = 0
    skipped_entries: int = 0
    total_steps: int | None = None
    error: str | None = None
    warning: str | None = None
    parser: str = "msgspec"
    #: column name → values (float64, NaN = NULL); plus ``entry_index`` and ``sample_key``.
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    #: ``map``, ``x``, ``y``, ``visits``, ``first_entry_index`` (int64), sorted by tile.
    positions: dict[str, np.ndarray] = field(default_factory=dict)
    #: rows ``(metric, n, min, max, mean, std)`` for every metric with n ≥ 1.
    stats: list[tuple[str, int, float, float, float, float]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Sampling


def sample_stride(n: int) -> int:
    """Smallest power of two ``s`` with ``ceil(n / s) <= SAMPLE_CANDIDATES``."""
    stride = 1
    while -(-n // stride) > SAMPLE_CANDIDATES:
        stride *= 2
    return stride


def sample_indices(n: int) -> list[int]:
    """The entry indices sampled from a file of ``n`` entries.

    ``min(SAMPLES_PER_FILE, n)`` indices, including 0, evenly chosen among the multiples
    of :func:`sample_stride`, so a single streaming pass that keeps those multiples
    (at most ``SAMPLE_CANDIDATES`` rows) finds them without knowing ``n`` in advance.
    The largest gap between consecutive indices, counting both file ends, is at most
    ``2 * n / 100 + 1``. Pure and deterministic.
    """
    if n <= SAMPLES_PER_FILE:
        return list(range(n))
    stride = sample_stride(n)
    candidates = -(-n // stride)
    last = SAMPLES_PER_FILE - 1
    return [(k * (candidates - 1) // last) * stride for k in range(SAMPLES_PER_FILE)]


def sample_key(file: str, entry_index: int) -> int:
    """A stable pseudo-random int64 for one entry: orders the run-wide reservoir.

    Depends only on the file name and the index, never on file order or workers.
    """
    digest = hashlib.blake2b(f"{file}\0{entry_index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


# ---------------------------------------------------------------------------
# Accumulating a summary from blocks of canonical columns


@dataclass
class _Moments:
    n: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: np.ndarray) -> None:
        # Chan et al.'s pairwise update: exact count, min and max; mean and variance
        # computed in a fixed block order, so the result is deterministic.
        k = int(values.size)
        block_mean = float(values.sum()) / k
        block_m2 = float(((values - block_mean) ** 2).sum())
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))
        total = self.n + k
        delta = block_mean - self.mean
        self.mean += delta * k / total
        self.m2 += block_m2 + delta * delta * self.n * k / total
        self.n = total


_KEY_LIMIT = 1 << 19


class SummaryBuilder:
    """Folds blocks of canonical columns into a :class:`FileSummary`.

    Memory: O(SAMPLE_CANDIDATES rows + unique tiles + one block). Blocks must arrive in
    file order, each with ``BLOCK_ENTRIES`` entries except the last.
    """

    def __init__(self) -> None:
        self.entries = 0
        self.moments: dict[str, _Moments] = {}
        self.tiles: dict[tuple[int, int, int], list[int]] = {}
        self.candidates: dict[int, dict[str, float]] = {}
        self.extra_columns: set[str] = set()
        self.total_steps: set[int] = set()

    def add_block(self, columns: dict[str, np.ndarray]) -> None:
        """Add the next block: column name → float64 array (NaN = missing)."""
        start = self.entries
        size = len(next(iter(columns.values()))) if columns else 0
        if size == 0:
            return
        self.entries += size
        present = {name: col for name, col in columns.items() if not np.isnan(col).all()}
        for name in present:
            if name not in CORE_COLUMNS:
                self.extra_columns.add(name)
        for name, col in present.items():
            if name in STAT_COLUMNS or name.startswith("reward_"):
                values = col[~np.isnan(col)]
                self.moments.setdefault(name, _Moments()).add(values)
        if "total_steps" in present:
            col = present["total_steps"]
            self.total_steps.update(np.unique(col[~np.isnan(col)]).astype(np.int64).tolist())
        self._add_tiles(present, start)
        self._add_candidates(present, start, size)

    def _add_tiles(self, columns: dict[str, np.ndarray], start: int) -> None:
        if not all(name in columns for name in ("map", "x", "y")):
            return
        m, x, y = columns["map"], columns["x"], columns["y"]
        valid = ~(np.isnan(m) | np.isnan(x) | np.isnan(y))
        index = np.flatnonzero(valid)
        mf, xf, yf = m[valid], x[valid], y[valid]
        in_range = (
            (mf >= 0) & (mf < _KEY_LIMIT) & (np.abs(xf) < _KEY_LIMIT) & (np.abs(yf) < _KEY_LIMIT)
        )
        mi, xi, yi = (a[in_range].astype(np.int64) for a in (mf, xf, yf))
        keys = (mi << 40) + ((xi + _KEY_LIMIT) << 20) + (yi + _KEY_LIMIT)
        unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
        first_index = index[in_range][first] + start
        for key, count, first_at in zip(
            unique.tolist(), counts.tolist(), first_index.tolist(), strict=True
        ):
            tile = (
                key >> 40,
                ((key >> 20) & (2 * _KEY_LIMIT - 1)) - _KEY_LIMIT,
                (key & (2 * _KEY_LIMIT - 1)) - _KEY_LIMIT,
            )
            self._visit(tile, count, first_at)
        for i in np.flatnonzero(~in_range).tolist():  # far outside any real map: rare
            self._visit((int(mf[i]), int(xf[i]), int(yf[i])), 1, int(index[i]) + start)

    def _visit(self, tile: tuple[int, int, int], count: int, first_at: int) -> None:
        seen = self.tiles.get(tile)
        if seen is None:
            self.tiles[tile] = [count, first_at]
        else:
            seen[0] += count
            seen[1] = min(seen[1], first_at)

    def _add_candidates(self, columns: dict[str, np.ndarray], start: int, size: int) -> None:
        stride = sample_stride(start + size)
        if stride > 1 and self.candidates:
            self.candidates = {i: r for i, r in self.candidates.items() if i % stride == 0}
        first = -(-start // stride) * stride
        rows = range(first - start, size, stride)
        for offset in rows:
            self.candidates[start + offset] = {
                name: float(col[offset]) for name, col in columns.items()
            }

    def finish(self, summary: FileSummary) -> FileSummary:
        """Write entries, samples, tiles and statistics into ``summary`` and return it."""
        summary.entries = self.entries
        columns = list(CORE_COLUMNS) + sorted(self.extra_columns)
        indices = sample_indices(self.entries)
        samples: dict[str, np.ndarray] = {
            "entry_index": np.array(indices, dtype=np.int64),
            "sample_key": np.array([sample_key(summary.file, i) for i in indices], np.int64),
        }
        for name in columns:
            samples[name] = np.array(
                [self.candidates[i].get(name, math.nan) for i in indices], dtype=np.float64
            )
        summary.samples = samples
        tiles = sorted(self.tiles.items())
        summary.positions = {
            "map": np.array([t[0][0] for t in tiles], dtype=np.int64),
            "x": np.array([t[0][1] for t in tiles], dtype=np.int64),
            "y": np.array([t[0][2] for t in tiles], dtype=np.int64),
            "visits": np.array([t[1][0] for t in tiles], dtype=np.int64),
            "first_entry_index": np.array([t[1][1] for t in tiles], dtype=np.int64),
        }
        summary.stats = [
            (
                name,
                m.n,
                m.minimum,
                m.maximum,
                m.mean,
                math.sqrt(m.m2 / (m.n - 1)) if m.n > 1 else 0.0,
            )
            for name, m in sorted(self.moments.items())
        ]
        if self.total_steps:
            summary.total_steps = max(self.total_steps)
            if len(self.total_steps) > 1:
                _warn(
                    summary,
                    f"total_steps differs between entries; the largest, "
                    f"{summary.total_steps}, is used",
                )
        return summary


def _warn(summary: FileSummary, message: str) -> None:
    summary.warning = message if summary.warning is None else f"{summary.warning}; {message}"


def _as_array(values: list[Any]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# ---------------------------------------------------------------------------
# NaN / Infinity tokens: not JSON, but json.dump writes them. Both readers turn them
# into null before the parser sees them, leaving string contents untouched.

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|"|-?Infinity|NaN')
_TAIL = len(b"-Infinity")


def replace_non_finite(data: bytes) -> tuple[bytes, int]:
    """Replace ``NaN``, ``Infinity`` and ``-Infinity`` outside strings by ``null``.

    Returns:
        ``(new_bytes, replacements)``.
    """
    count = 0

    def swap(match: re.Match[bytes]) -> bytes:
        nonlocal count
        token = match.group()
        if token[:1] == b'"':  # a string (or a stray quote): left as it is
            return token
        count += 1
        return b"null"

    if b"NaN" not in data and b"Infinity" not in data:
        return data, 0
    return _TOKENS.sub(swap, data), count


class NonFiniteFilter:
    """A read-only binary stream that applies :func:`replace_non_finite` on the fly.

    Keeps at most one chunk plus a few bytes: a token or string split across chunk
    boundaries is held back until it is complete.
    """

    def __init__(self, raw: BinaryIO, chunk_bytes: int = 1 << 20) -> None:
        self.raw = raw
        self.chunk_bytes = chunk_bytes
        self.pending = b""
        self.ready = b""
        self.offset = 0
        self.replaced = 0
        self.done = False

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` filtered bytes (all that is left for -1; b"" at the end)."""
        while not self.done and (size < 0 or len(self.ready) - self.offset < size):
            chunk = self.raw.read(self.chunk_bytes)
            buffer = self.pending + chunk
            self.done = not chunk
            out, count = self._filter(buffer, final=self.done)
            self.replaced += count
            self.ready = self.ready[self.offset :] + out
            self.offset = 0
        end = len(self.ready) if size < 0 else self.offset + size
        piece = self.ready[self.offset : end]
        self.offset += len(piece)
        return piece

    def _filter(self, buffer: bytes, final: bool) -> tuple[bytes, int]:
        if b"NaN" not in buffer and b"Infinity" not in buffer and b"\\" not in buffer:
            # No token can be complete here: only the string state at the cut matters.
            cut = len(buffer) if final else max(0, len(buffer) - _TAIL)
            if buffer.count(b'"', 0, cut) % 2 == 0:
                self.pending = buffer[cut:]
                return buffer[:cut], 0
        cut = len(buffer) if final else max(0, len(buffer) - _TAIL)
        out: list[bytes] = []
        count = 0
        position = 0
        for match in _TOKENS.finditer(buffer):
            token = match.group()
            if match.start() >= cut:
                break
            if token == b'"':  # a string not closed in this buffer
                cut = len(buffer) if final else match.start()
                break
            if match.end() > cut and not final:
                cut = match.start()
                break
            out.append(buffer[position : match.start()])
            if token[:1] == b'"':
                out.append(token)
            else:
                out.append(b"null")
                count += 1
            position = match.end()
        out.append(buffer[position:cut])
        self.pending = buffer[cut:] if not final else b""
        return b"".join(out), count


# ---------------------------------------------------------------------------
# Reading one file


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
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            return read_edges(handle, size).complete
    except OSError:
        return False


def ingest_file(path: str | Path, *, fast_path_max_bytes: int = FAST_PATH_MAX_BYTES) -> FileSummary:
    """Summarize one log file; never raises for bad content.

    Args:
        path: a ``stats_*.json`` file of any generation.
        fast_path_max_bytes: files up to this size that look complete are decoded by
            msgspec (in slices when pretty-printed, whole when compact); 0 forces the
            streaming path.

    Returns:
        The summary. ``size_bytes`` and ``mtime_ns`` are those seen *before* reading,
        so a file that grows meanwhile is stale at the next check.

    Cost: one read of the file (two when the fast path gives up). Memory: on the fast
    path, one slice and its decoded fields for a pretty-printed file, the whole file and
    its decoded fields for a compact one; O(one block + samples + tiles) on the
    streaming path. Deterministic.
    """
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, on every path
    except OSError as exc:
        return FileSummary(
            path.name,
            0,
            0,
            status="error",
            format=None,
            error=f"cannot open: {exc.strerror}; check permissions",
        )
    with handle:
        stat = os.fstat(handle.fileno())
        summary = FileSummary(path.name, stat.st_size, stat.st_mtime_ns)
        try:
            edges = read_edges(handle, stat.st_size)
        except OSError as exc:
            return _failed(summary, f"cannot read: {exc.strerror}")
        bom, first, complete = edges.bom, edges.first, edges.complete
        if bom:
            _warn(summary, "UTF-8 byte-order mark skipped")
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
            if _fast_path(summary, handle):
                return summary
            handle.seek(0)
        return _streaming_path(summary, handle, bom, complete)


def _failed(summary: FileSummary, message: str) -> FileSummary:
    summary.status = "error"
    summary.error = message
    return summary


def _finish(summary: FileSummary, builder: SummaryBuilder, counts: dict[str, int]) -> None:
    """The end both paths share: the file's format, the builder's totals, ``empty``."""
    counts = {k: v for k, v in counts.items() if v}
    if counts:
        summary.format = max(counts, key=lambda k: (counts[k], FORMATS.index(k)))
        if len(counts) > 1:
            mix = ", ".join(f"{counts[k]} {k}" for k in FORMATS if k in counts)
            _warn(summary, f"entries of several formats ({mix})")
    builder.finish(summary)
    if summary.entries == 0:
        summary.status = "empty"
        summary.error = "the array holds no entries"


def _fast_path(summary: FileSummary, handle: BinaryIO) -> bool:
    """Decode a complete file with msgspec, slice by slice; False to stream it instead.

    ``handle`` is positioned after any byte-order mark. Nothing is written into
    ``summary`` unless every slice decodes.
    """
    builder = SummaryBuilder()
    blocks = _BlockCutter(builder)
    formats: dict[str, int] = {}
    replaced = 0
    nested: bool | None = None
    for piece in _slices(handle):
        if nested is None:  # the generation is sniffed from the head of the file
            nested = _mentions_nested(bytes(piece[:65536]))
        decoded = _decode_slice(piece, nested)
        del piece
        if decoded is None:
            return False
        columns, counts, replaced_here = decoded
        replaced += replaced_here
        for name, count in counts.items():
            formats[name] = formats.get(name, 0) + count
        blocks.add(columns)
    blocks.finish()
    if blocks.infinite:
        return False  # msgspec rejects out-of-range numbers; kept as a guard
    summary.parser = "msgspec"
    summary.bad_values = replaced
    _finish(summary, builder, formats)
    return True


def _slices(handle: BinaryIO) -> Iterator[bytes | memoryview]:
    """The rest of a file holding one JSON array, as JSON arrays of whole entries.

    Pretty-printed files are cut at :data:`_ENTRY_BOUNDARY` about every
    :data:`SLICE_BYTES`: the boundary's comma becomes ``]`` to close one piece and then
    ``[`` to open the next, so the pieces are the original bytes and a syntax error
    stays a syntax error. They are views into one reused buffer (fresh buffers per slice
    cost more in page faults than the decoding), valid until the next piece is asked
    for. A file without that boundary in its first slice (compact JSON) comes whole.
    """
    buffer = bytearray(SLICE_BYTES)
    size = handle.readinto(buffer)
    if buffer.find(_ENTRY_BOUNDARY, 0, size) < 0:
        yield bytes(buffer[:size]) + handle.read()
        return
    start = 0  # where the next piece starts: the file's "[" or a boundary comma
    while True:
        view = memoryview(buffer)
        while size < len(buffer) and (read := handle.readinto(view[size:])):
            size += read
        if size < len(buffer):  # the end of the file is in the buffer
            yield view[start:size]
            return
        cut = buffer.rfind(_ENTRY_BOUNDARY, start, size)
        if cut < 0:  # one entry longer than the buffer: make room and read on
            view.release()
            buffer.extend(bytes(len(buffer)))
            continue
        comma = cut + 4
        buffer[comma] = ord("]")
        yield view[start : comma + 1]
        buffer[comma] = ord("[")
        tail = bytes(view[comma:size])  # less than one entry
        view.release()
        buffer[: len(tail)] = tail
        start, size = 0, len(tail)


def _decode_slice(
    data: bytes | memoryview, nested: bool
) -> tuple[dict[str, np.ndarray], dict[str, int], int] | None:
    """Columns, generation counts and replaced tokens of one slice; None to stream.

    ``NaN``/``Infinity`` tokens are not JSON, so msgspec fails on them: only then is the
    slice filtered (:func:`replace_non_finite`) and decoded again, which keeps the scan
    off the common path. Any other failure means the streaming path reads the file.
    """
    replaced = 0
    try:
        decoded = _decode_columns(data, nested)
    except msgspec.ValidationError:
        return None
    except msgspec.DecodeError:
        data, replaced = replace_non_finite(bytes(data))
        if not replaced:
            return None
        try:
            decoded = _decode_columns(data, nested)
        except msgspec.DecodeError:  # also msgspec.ValidationError, its subclass
            return None
    if decoded is None:
        return None
    return (*decoded, replaced)


class _BlockCutter:
    """Feeds columns that arrive in pieces of any length as ``BLOCK_ENTRIES`` blocks.

    A column missing from a piece is NaN (missing) for that piece's entries. Holds less
    than one block plus the last piece.
    """

    def __init__(self, builder: SummaryBuilder) -> None:
        self.builder = builder
        self.pending: list[tuple[dict[str, np.ndarray], int]] = []
        self.rows = 0
        #: Whether any value was ±inf (the streaming path would count it as bad).
        self.infinite = False

    def add(self, columns: dict[str, np.ndarray]) -> None:
        size = len(next(iter(columns.values()))) if columns else 0
        if size:
            self.pending.append((columns, size))
            self.rows += size
            if self.rows >= BLOCK_ENTRIES:
                self._cut(final=False)

    def finish(self) -> None:
        if self.rows:
            self._cut(final=True)

    def _cut(self, final: bool) -> None:
        names = dict.fromkeys(name for columns, _ in self.pending for name in columns)
        merged = {
            name: np.concatenate(
                [
                    columns[name] if name in columns else np.full(size, np.nan)
                    for columns, size in self.pending
                ]
            )
            for name in names
        }
        self.infinite = self.infinite or any(np.isinf(col).any() for col in merged.values())
        end = self.rows if final else self.rows - self.rows % BLOCK_ENTRIES
        for start in range(0, end, BLOCK_ENTRIES):
            stop = min(start + BLOCK_ENTRIES, end)
            self.builder.add_block({name: col[start:stop] for name, col in merged.items()})
        self.rows -= end
        self.pending = [({k: v[end:] for k, v in merged.items()}, self.rows)] if self.rows else []


def _decode_columns(
    data: bytes | memoryview, nested: bool
) -> tuple[dict[str, np.ndarray], dict[str, int]] | None:
    """Canonical columns and generation counts of a JSON array, or None to stream it.

    Raises:
        msgspec.DecodeError: not JSON as msgspec reads it (e.g. ``NaN`` tokens).
        msgspec.ValidationError: a value the streaming path would count as bad.
    """
    if nested:
        try:
            entries = NESTED_DECODER.decode(data)
        except msgspec.ValidationError:  # e.g. an extra reward component: decode again
            entries = NESTED_DECODER_ANY_COMPONENTS.decode(data)
        return nested_columns(entries)
    data = bytes(data)  # flat files are compact (one piece, bytes already) or rare
    if _mentions_nested(data):
        return None  # flat first, nested later: a mixed file
    try:
        entries = FLAT_STANDARD_DECODER.decode(data)
    except msgspec.ValidationError:  # keys beyond the documented ones: read extras too
        extras = tuple(sorted({m.decode() for m in _EXTRA_REWARD_KEYS.findall(data)}))
        entries = flat_decoder(extras).decode(data)
    return flat_columns(entries)


_NESTED_KEY_BYTES = tuple(f'"{key}"'.encode() for key in NESTED_KEYS)


def _mentions_nested(data: bytes) -> bool:
    """Whether the text names a key only nested entries have."""
    return any(key in data for key in _NESTED_KEY_BYTES)


_EXTRA_REWARD_KEYS = re.compile(
    rb'"(reward_(?!(?:total|step|components|event|level|heal|badge|explore|dead|stuck)")'
    rb'[^"\\]*)"\s*:'
)


def _rows_to_block(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return {name: _as_array([row.get(name) for row in rows]) for name in names}


def _streaming_path(
    summary: FileSummary, handle: BinaryIO, bom: bool, complete: bool
) -> FileSummary:
    summary.parser = "ijson"
    if bom:
        handle.read(len(BOM))
    stream = NonFiniteFilter(handle)
    builder = SummaryBuilder()
    formats = dict.fromkeys(FORMATS, 0)
    rows: list[dict[str, Any]] = []
    bad = skipped = 0
    failure: str | None = None
    try:
        for entry in _items(stream):
            if not isinstance(entry, dict):
                skipped += 1
                continue
            row, row_bad = canonical_entry(entry)
            bad += row_bad
            formats[entry_format(entry)] += 1
            rows.append(row)
            if len(rows) == BLOCK_ENTRIES:
                builder.add_block(_rows_to_block(rows))
                rows = []
    except ijson.JSONError as exc:
        failure = str(exc).splitlines()[0].strip()
    except OSError as exc:
        failure = f"read error: {exc.strerror}"
    if rows:
        builder.add_block(_rows_to_block(rows))
    summary.bad_values = bad + stream.replaced
    summary.skipped_entries = skipped
    if skipped:
        _warn(summary, f"{skipped} entries are not JSON objects and were skipped")
    _finish(summary, builder, formats)
    if failure is not None:
        if not complete and "trailing garbage" not in failure:
            summary.status = "partial"
            summary.error = (
                f"cut off after {summary.entries} complete entries ({failure}); "
                "normal while training writes it, it is read again when it changes"
            )
        else:
            summary.status = "error"
            summary.error = (
                f"not valid JSON ({failure}); the {summary.entries} complete entries "
                "before the problem were kept"
            )
    return summary


def _items(stream: NonFiniteFilter) -> Iterator[Any]:
    return ijson.items(stream, "item", use_float=True)


def ijson_backend() -> str:
    """The ijson backend in use (``yajl2_c`` is the fast C one)."""
    return ijson.backend
