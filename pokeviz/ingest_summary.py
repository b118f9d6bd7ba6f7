"""The per-file summary and how it is folded from blocks of canonical columns.

Both parse paths of :mod:`pokeviz.ingest` hand the same fixed-size blocks to one
:class:`SummaryBuilder`, so the statistics, samples and visits of a file never depend on
the parser that read it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from .formats import CORE_COLUMNS, FORMATS, STAT_COLUMNS

#: Samples kept per file, spread evenly over its entries.
SAMPLES_PER_FILE = 100
#: Candidate rows kept while streaming (a multiple of SAMPLES_PER_FILE); bounds memory
#: and makes the largest gap between samples at most ~1.5 n / SAMPLES_PER_FILE.
SAMPLE_CANDIDATES = 4 * SAMPLES_PER_FILE
#: Entries per block handed to the :class:`SummaryBuilder` (both paths use the same).
BLOCK_ENTRIES = 8192


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
    digest = hashlib.blake2b(f"{file}\0{entry_index}".encode("utf-8", "surrogateescape"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


# ---------------------------------------------------------------------------
# Accumulating a summary from blocks of canonical columns


@dataclass
class _Moments:
    """Count, min, max, mean and variance of finite values arriving in blocks.

    Chan et al.'s pairwise update in a fixed block order (deterministic). Values beyond
    :data:`_UNSCALED_LIMIT` in magnitude are first multiplied by a power of two
    ``2**-shift``, which is exact, so sums and squares never overflow: entries near
    ±1.7e308 still give a finite, correct mean. Ordinary values are never scaled, so
    their results are bit for bit those of the plain formula.
    """

    n: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0  # in units of 2**shift
    m2: float = 0.0  # in units of 4**shift
    shift: int = 0

    def add(self, values: np.ndarray) -> None:
        k = int(values.size)
        low, high = float(values.min()), float(values.max())
        self.minimum = min(self.minimum, low)
        self.maximum = max(self.maximum, high)
        peak = max(abs(low), abs(high))
        if peak > _UNSCALED_LIMIT:
            shift = math.frexp(peak)[1] - _UNSCALED_EXPONENT
            if shift > self.shift:  # express the running state in the coarser unit
                self.mean = math.ldexp(self.mean, self.shift - shift)
                self.m2 = math.ldexp(self.m2, 2 * (self.shift - shift))
                self.shift = shift
        if self.shift:
            values = np.ldexp(values, -self.shift)
        block_mean = float(values.sum()) / k
        block_m2 = float(((values - block_mean) ** 2).sum())
        total = self.n + k
        delta = block_mean - self.mean
        self.mean += delta * k / total
        self.m2 += block_m2 + delta * delta * self.n * k / total
        self.n = total

    def row(self, name: str) -> tuple[str, int, float, float, float, float]:
        """``(name, n, min, max, mean, std)``; std is the sample std (0 for one value)."""
        std = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0
        return (
            name,
            self.n,
            self.minimum,
            self.maximum,
            math.ldexp(self.mean, self.shift),
            _ldexp_or_inf(std, self.shift),
        )


#: Magnitude above which values are scaled before summing (2**400: squares of sums of
#: any realistic number of scaled values stay far below the float64 maximum).
_UNSCALED_EXPONENT = 400
_UNSCALED_LIMIT = 2.0**_UNSCALED_EXPONENT


def _ldexp_or_inf(value: float, shift: int) -> float:
    try:
        return math.ldexp(value, shift)
    except OverflowError:  # a true spread beyond the float64 range
        return math.inf


_KEY_LIMIT = 1 << 19


class SummaryBuilder:
    """Folds blocks of canonical columns into a :class:`FileSummary`.

    Memory: O(SAMPLE_CANDIDATES rows + unique tiles + one block). Blocks must arrive in
    file order, each with ``BLOCK_ENTRIES`` entries except the last.
    """

    def __init__(self) -> None:
        self.entries = 0
        self.moments: dict[str, _Moments] = {}
        # Tiles with small coordinates, as sorted packed keys (see _add_tiles), their
        # visits and first entry; the rare others in a dict.
        self.tile_keys = np.empty(0, dtype=np.int64)
        self.tile_visits = np.empty(0, dtype=np.int64)
        self.tile_first = np.empty(0, dtype=np.int64)
        self.tiles: dict[tuple[int, int, int], list[int]] = {}
        # Sample candidates: entry indices (ascending) and their values per column.
        self.candidate_index = np.empty(0, dtype=np.int64)
        self.candidates: dict[str, np.ndarray] = {}
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
        self._merge_tiles(unique, counts, index[in_range][first] + start)
        for i in np.flatnonzero(~in_range).tolist():  # far outside any real map: rare
            self._visit((int(mf[i]), int(xf[i]), int(yf[i])), 1, int(index[i]) + start)

    def _merge_tiles(self, keys: np.ndarray, visits: np.ndarray, first: np.ndarray) -> None:
        if self.tile_keys.size == 0:
            self.tile_keys, self.tile_visits, self.tile_first = keys, visits, first
            return
        all_keys = np.concatenate([self.tile_keys, keys])
        # Earlier blocks come first, so a tile's first occurrence holds its first entry.
        merged, where, inverse = np.unique(all_keys, return_index=True, return_inverse=True)
        all_visits = np.concatenate([self.tile_visits, visits])
        self.tile_first = np.concatenate([self.tile_first, first])[where]
        self.tile_visits = np.bincount(inverse, weights=all_visits).astype(np.int64)
        self.tile_keys = merged

    def _tile_table(self) -> dict[str, np.ndarray]:
        keys = self.tile_keys
        columns = {
            "map": keys >> 40,
            "x": ((keys >> 20) & (2 * _KEY_LIMIT - 1)) - _KEY_LIMIT,
            "y": (keys & (2 * _KEY_LIMIT - 1)) - _KEY_LIMIT,
            "visits": self.tile_visits,
            "first_entry_index": self.tile_first,
        }
        if not self.tiles:  # packed keys sort as (map, x, y) tuples do
            return {name: np.asarray(col, dtype=np.int64) for name, col in columns.items()}
        rows = {
            (m, x, y): [v, f]
            for m, x, y, v, f in zip(*(col.tolist() for col in columns.values()), strict=True)
        }
        rows.update(self.tiles)
        tiles = sorted(rows.items())
        return {
            "map": np.array([t[0][0] for t in tiles], dtype=np.int64),
            "x": np.array([t[0][1] for t in tiles], dtype=np.int64),
            "y": np.array([t[0][2] for t in tiles], dtype=np.int64),
            "visits": np.array([t[1][0] for t in tiles], dtype=np.int64),
            "first_entry_index": np.array([t[1][1] for t in tiles], dtype=np.int64),
        }

    def _visit(self, tile: tuple[int, int, int], count: int, first_at: int) -> None:
        seen = self.tiles.get(tile)
        if seen is None:
            self.tiles[tile] = [count, first_at]
        else:
            seen[0] += count
            seen[1] = min(seen[1], first_at)

    def _add_candidates(self, columns: dict[str, np.ndarray], start: int, size: int) -> None:
        stride = sample_stride(start + size)
        if stride > 1 and self.candidate_index.size:
            keep = self.candidate_index % stride == 0
            self.candidate_index = self.candidate_index[keep]
            self.candidates = {name: col[keep] for name, col in self.candidates.items()}
        first = -(-start // stride) * stride
        offsets = np.arange(first - start, size, stride)
        before = self.candidate_index.size
        self.candidate_index = np.concatenate([self.candidate_index, offsets + start])
        for name in dict.fromkeys([*self.candidates, *columns]):
            old = self.candidates.get(name)
            new = columns.get(name)
            self.candidates[name] = np.concatenate(
                [
                    np.full(before, np.nan) if old is None else old,
                    np.full(offsets.size, np.nan) if new is None else new[offsets],
                ]
            )

    def finish(self, summary: FileSummary) -> FileSummary:
        """Write entries, samples, tiles and statistics into ``summary`` and return it."""
        summary.entries = self.entries
        columns = list(CORE_COLUMNS) + sorted(self.extra_columns)
        indices = sample_indices(self.entries)
        samples: dict[str, np.ndarray] = {
            "entry_index": np.array(indices, dtype=np.int64),
            "sample_key": np.array([sample_key(summary.file, i) for i in indices], np.int64),
        }
        rows = np.searchsorted(self.candidate_index, np.array(indices, dtype=np.int64))
        for name in columns:
            values = self.candidates.get(name)
            samples[name] = (
                np.full(len(indices), np.nan) if values is None else values[rows].astype(np.float64)
            )
        summary.samples = samples
        summary.positions = self._tile_table()
        summary.stats = [m.row(name) for name, m in sorted(self.moments.items())]
        if self.total_steps:
            summary.total_steps = max(self.total_steps)
            if len(self.total_steps) > 1:
                warn(
                    summary,
                    f"total_steps differs between entries; the largest, "
                    f"{summary.total_steps}, is used",
                )
        return summary


def warn(summary: FileSummary, message: str) -> None:
    """Append ``message`` to the summary's ``warning`` (``; ``-separated)."""
    summary.warning = message if summary.warning is None else f"{summary.warning}; {message}"




class BlockCutter:
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




def finish_summary(summary: FileSummary, builder: SummaryBuilder, counts: dict[str, int]) -> None:
    """The end both paths share: the file's format, the builder's totals, ``empty``."""
    counts = {k: v for k, v in counts.items() if v}
    if counts:
        summary.format = max(counts, key=lambda k: (counts[k], FORMATS.index(k)))
        if len(counts) > 1:
            mix = ", ".join(f"{counts[k]} {k}" for k in FORMATS if k in counts)
            warn(summary, f"entries of several formats ({mix})")
    builder.finish(summary)
    if summary.entries == 0:
        summary.status = "empty"
        summary.error = "the array holds no entries"


def too_deep(summary: FileSummary, exc: Exception) -> FileSummary:
    """Mark ``summary`` as an ``error`` for a file nested too deeply; nothing is kept."""
    summary.status = "error"
    summary.error = f"{exc}; nothing was read from it"
    return summary
