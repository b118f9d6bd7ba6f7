"""What ``compare`` reads from each run's views: per-file statistics and tile first visits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...api import IngestReport, RunView
from ...discover import Run
from ...kanto import MapTable
from ...stats.variants import VariantRuns

#: The file_stats metric behind each per-file ``--metric``, and how its panels are titled.
STAT_METRICS = {
    "reward_total": ("reward_total", "total reward (cumulative in the episode)", "reward"),
    "badges": ("badges", "badges", "badges"),
    "levels": ("levels_sum", "sum of party levels (levels_sum)", "levels"),
    "deaths": ("deaths", "deaths (per entry, as logged)", "deaths"),
}


@dataclass
class RunData:
    """What the comparison reads from one run's cache.

    Attributes:
        run, report: the run and its ingest report (entries, steps, files read).
        file_first, file_last: global step range of each file with entries, file order.
        stats: ``stats[metric]["mean"|"max"]``: per-file values aligned with the files
            (NaN where a file lacks the metric).
        tile_steps: the first global step of every unique tile, sorted (global Kanto
            tiles when a map table is used, else (map, x, y) triples).
    """

    run: Run
    report: IngestReport
    file_first: np.ndarray
    file_last: np.ndarray
    stats: dict[str, dict[str, np.ndarray]]
    tile_steps: np.ndarray

    @property
    def file_mid(self) -> np.ndarray:
        """Middle global step of each file (where its statistics are drawn)."""
        return (self.file_first + self.file_last) / 2.0

    @property
    def tiles(self) -> int:
        """Unique tiles visited in the run."""
        return len(self.tile_steps)

    def final(self, metric: str) -> float | None:
        """The per-file mean of ``metric`` in the last file that has it (None: none)."""
        values = self.stats.get(metric, {}).get("mean")
        if values is None:
            return None
        finite = values[~np.isnan(values)]
        return float(finite[-1]) if len(finite) else None

    def last_step_with(self, metric: str) -> int | None:
        """The last global step of the last file that has ``metric`` (None: none)."""
        values = self.stats.get(metric, {}).get("mean")
        if values is None or np.isnan(values).all():
            return None
        return int(self.file_last[~np.isnan(values)][-1])

    def value_at(self, metric: str, step: int) -> float | None:
        """The per-file mean of ``metric`` in the file (with it) whose range holds ``step``.

        When ``step`` falls between two files, the later one; None when the run's
        files with the metric end before ``step``.
        """
        values = self.stats.get(metric, {}).get("mean")
        if values is None:
            return None
        keep = ~np.isnan(values)
        ends, means = self.file_last[keep], values[keep]
        index = int(np.searchsorted(ends, step, side="left"))
        return float(means[index]) if index < len(means) else None

    def maximum(self, metric: str) -> float | None:
        """The largest value of ``metric`` over all entries (None: never logged)."""
        values = self.stats.get(metric, {}).get("max")
        if values is None or np.isnan(values).all():
            return None
        return float(np.nanmax(values))


@dataclass(kw_only=True)
class VariantData(VariantRuns[RunData]):
    """A compared variant: its usable runs, what was wrong with the others, its colour."""

    color: str


def run_data(view: RunView, table: MapTable | None) -> RunData:
    """Read one run's per-file statistics and tile first-visit steps from its views.

    Args:
        view: the run, open (:func:`pokeviz.api.open_run`).
        table: the map table; with one, two (map, x, y) on one global tile are one tile.

    Returns:
        The :class:`RunData`. Cost: three queries over the run's small views.
    """
    con = view.con
    files = con.execute(
        "SELECT file, first_global_step, last_global_step FROM files "
        "WHERE entries > 0 ORDER BY file_order"
    ).fetchall()
    slot = {name: i for i, (name, _, _) in enumerate(files)}
    wanted = sorted({m for m, _, _ in STAT_METRICS.values()})
    stats = {m: {"mean": np.full(len(files), np.nan), "max": np.full(len(files), np.nan)}
             for m in wanted}
    listing = ", ".join(f"'{m}'" for m in wanted)
    for metric, file, mean, maximum in con.execute(
        f"SELECT metric, file, mean, max FROM file_stats WHERE metric IN ({listing}) "
        "AND n > 0 ORDER BY metric, file"
    ).fetchall():
        if file in slot:
            stats[metric]["mean"][slot[file]] = np.nan if mean is None else mean
            stats[metric]["max"][slot[file]] = np.nan if maximum is None else maximum
    rows = con.execute(
        "SELECT map, x, y, first_global_step FROM tiles ORDER BY map, x, y"
    ).fetchnumpy()
    maps, xs, ys, first = (np.asarray(np.ma.getdata(rows[c]), dtype=np.int64)
                           for c in ("map", "x", "y", "first_global_step"))
    if table is not None and len(maps):
        # Two (map, x, y) on the same global tile are one place: keep its earliest visit.
        gx, gy, placed = table.to_global(maps, xs, ys)
        keys = np.stack([np.where(placed, 0, 1), np.where(placed, 0, maps),
                         np.where(placed, gx, xs), np.where(placed, gy, ys)], axis=1)
        _, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        earliest = np.full(int(inverse.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(earliest, inverse, first)
        first = earliest
    return RunData(
        run=view.run,
        report=view.report,
        file_first=np.array([r[1] for r in files], dtype=np.int64),
        file_last=np.array([r[2] for r in files], dtype=np.int64),
        stats=stats,
        tile_steps=np.sort(first),
    )
