"""Variants side by side (``pokeviz compare``): mean over runs with a 95 % band, game progress.

Data flow: every run of every compared variant is brought up to date in its own cache
(:func:`pokeviz.api.ingest`), then each figure is built from the views only —
``file_stats`` for the per-file means and maxima, ``tiles`` for the first global step of
every tile — never from the JSON logs.

How a curve is made (the same for every metric):

* **Per run**, one point per log file with entries: the exact per-file statistic over
  all of the file's entries, at the file's middle global step (for ``exploration``: the
  cumulative count of unique tiles at the file's last global step, plus a first point
  at the run's first step). A file without the metric gives no point (never 0).
* **Per variant**, the mean across its runs on a common step grid: the sorted union of
  the runs' own points inside the range that *every* run covers (from the latest first
  point to the earliest last point). Each run is linearly interpolated between its own
  points onto that grid; nothing is extrapolated beyond a run's first or last point, so
  the mean is always over the same runs. Runs longer than the shortest continue as thin
  lines, and a note says so.
* **Band**: with ``n ≥ 2`` runs, mean ± ``t(0.975, n − 1) · s / √n`` (``s`` the sample
  standard deviation across runs at that grid point): a 95 % confidence interval of the
  mean over runs (seeds), Student's t. One run: its own points, no band, and the legend
  says so.

Everything is deterministic: the same logs and arguments give the same numbers and
byte-identical figures, whatever the order or worker count of earlier ingests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..api import IngestReport, open_run
from ..discover import Run, list_log_files, runs_of_variant
from ..discover import variants as variant_dirs
from ..errors import NoLogFilesError, PokevizError, RunNotFoundError
from ..kanto import MapTable, resolve_map_table
from .style import (
    FIGURE_WIDTH_IN,
    FORMATS,
    PALETTE,
    format_steps,
    freeze_layout,
    new_figure,
    save_figure,
    theme,
)

if TYPE_CHECKING:
    import duckdb
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: ``--metric`` choices, in drawing order.
METRICS = ("reward_total", "exploration", "badges", "levels", "deaths")
#: Drawn when no metric is asked for.
DEFAULT_METRICS = ("reward_total", "exploration")
#: ``--runs`` choices: every run of a variant, or only its latest (greatest timestamp).
RUN_CHOICES = ("all", "latest")
#: The research variants' colours, fixed in every figure: blue, green, orange, red.
FIXED_COLORS = {"v1": PALETTE[0], "v2": PALETTE[2], "v3": PALETTE[1], "v4": PALETTE[3]}
#: Colours of other variant names, by their rank among those names in sorted order
#: (purple, brown, sky blue, grey, pink, yellow; repeating after that).
EXTRA_COLORS = (PALETTE[4], PALETTE[5], PALETTE[9], PALETTE[7], PALETTE[6], PALETTE[8])
#: Confidence of the band.
CONFIDENCE = 0.95
#: Two-sided 95 % quantiles of Student's t, ``t(0.975, df)`` for df = 1 … 30.
T_975 = (
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
    2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
    2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
    2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
)
#: The standard normal quantile ``z(0.975)``.
Z_975 = 1.959963984540054

#: The file_stats metric behind each per-file metric, and how its panels are titled.
_STAT_METRICS = {
    "reward_total": ("reward_total", "total reward (cumulative in the episode)", "reward"),
    "badges": ("badges", "badges", "badges"),
    "levels": ("levels_sum", "sum of party levels (levels_sum)", "levels"),
    "deaths": ("deaths", "deaths (per entry, as logged)", "deaths"),
}


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom.

    Args:
        df: degrees of freedom, at least 1 (runs − 1).

    Returns:
        The table value :data:`T_975` for df ≤ 30 (6 decimals); beyond, the
        Cornish–Fisher expansion around :data:`Z_975` (Abramowitz & Stegun 26.7.5),
        within 1e-6 of the exact value. Pure and deterministic.

    Raises:
        ValueError: ``df`` < 1.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if df <= len(T_975):
        return T_975[df - 1]
    z = Z_975
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def variant_color(name: str, index: int = 0) -> str:
    """The colour of a variant, the same in every figure.

    Args:
        name: the variant folder name.
        index: for names other than v1–v4, the name's rank (0-based) among those other
            names in sorted order; :func:`variant_colors` computes it.

    Returns:
        v1 blue, v2 green, v3 orange, v4 red (whatever ``index``); other names
        ``EXTRA_COLORS[index]``, repeating after six. Pure.
    """
    if name in FIXED_COLORS:
        return FIXED_COLORS[name]
    return EXTRA_COLORS[index % len(EXTRA_COLORS)]


def variant_colors(names: Sequence[str]) -> dict[str, str]:
    """Colours of several variants: the fixed ones, others ranked by sorted name.

    Pass every variant of the experiments folder (not only the compared ones) so a
    variant keeps its colour whichever subset is compared.
    """
    others = sorted({n for n in names if n not in FIXED_COLORS})
    rank = {n: i for i, n in enumerate(others)}
    return {n: variant_color(n, rank.get(n, 0)) for n in names}


# ---------------------------------------------------------------------------
# Data


@dataclass
class RunSeries:
    """One run's points in one panel, by increasing global step (no NaN)."""

    run: Run
    steps: np.ndarray
    values: np.ndarray

    @property
    def first_step(self) -> float:
        """The run's first point."""
        return float(self.steps[0])

    @property
    def last_step(self) -> float:
        """The run's last point (never extrapolated beyond)."""
        return float(self.steps[-1])


@dataclass
class VariantSeries:
    """One variant in one panel: its runs and their mean (± band) on the common grid.

    Attributes:
        variant, color: the variant and its colour (:func:`variant_colors`).
        runs: the runs with at least one point, oldest first.
        grid, mean: the common step grid and the mean over runs on it (for one run, the
            run's own points).
        low, high: the 95 % band, or None with fewer than 2 runs.
        t: the t quantile used (None without a band).
    """

    variant: str
    color: str
    runs: list[RunSeries]
    grid: np.ndarray
    mean: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    t: float | None = None

    @property
    def n_runs(self) -> int:
        """Runs averaged."""
        return len(self.runs)

    @property
    def has_band(self) -> bool:
        """True when a confidence band is drawn (≥ 2 runs)."""
        return self.low is not None

    @property
    def label(self) -> str:
        """The legend entry: which band is shown, over how many runs."""
        if self.has_band:
            return (f"{self.variant}: mean of {self.n_runs} runs ± 95 % CI "
                    f"(t, df {self.n_runs - 1})")
        return f"{self.variant}: 1 run, no band"

    @property
    def truncated(self) -> bool:
        """True when some run goes on beyond the end of the mean (shorter runs)."""
        return bool(self.runs) and len(self.grid) > 0 and max(
            r.last_step for r in self.runs) > float(self.grid[-1])


@dataclass
class Panel:
    """One axes of a comparison figure."""

    key: str
    title: str
    ylabel: str
    variants: dict[str, VariantSeries] = field(default_factory=dict)


@dataclass
class ComparisonFigure:
    """The data behind one ``compare_…_{metric}`` figure and the files written.

    ``step_range`` is the x range drawn (from one step before the first entry of any
    compared run to the last), the same in every figure of one comparison. ``floor``
    is 0 for counts (tiles, badges, levels, deaths): the y axis starts there, and a
    band reaching below it (wide bands of few runs) is cut at the axis, with a note.
    """

    metric: str
    title: str
    panels: list[Panel]
    step_range: tuple[float, float] | None = None
    floor: float | None = None
    notes: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


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

    def maximum(self, metric: str) -> float | None:
        """The largest value of ``metric`` over all entries (None: never logged)."""
        values = self.stats.get(metric, {}).get("max")
        if values is None or np.isnan(values).all():
            return None
        return float(np.nanmax(values))


@dataclass
class VariantData:
    """A compared variant: its usable runs and what was wrong with the others."""

    name: str
    path: Path
    color: str
    runs: list[RunData] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when at least one run has entries."""
        return bool(self.runs)


@dataclass
class CompareResult:
    """What :func:`compare_variants` did.

    Attributes:
        variants: every compared variant (usable or not), in the order compared.
        figures: the data behind each figure, by metric, in ``metrics`` order.
        paths: every file written, metric by metric, in ``formats`` order.
        table: the per-variant table (header first), as printed.
        warnings: variants or runs not drawn, and why; runs without a metric.
        map_table: the map table used for exploration (None: (map, x, y) triples).
        files_read: log files read by the ingests of this call (0: nothing changed).
        seconds: wall time of the call.
    """

    variants: list[VariantData]
    figures: dict[str, ComparisonFigure]
    paths: list[Path]
    table: list[str]
    warnings: list[str]
    map_table: MapTable | None
    files_read: int
    seconds: float

    def lines(self) -> list[str]:
        """The output of ``pokeviz compare``: table, warnings, notes, files written."""
        out = list(self.table)
        for warning in self.warnings:
            out.append(f"warning  {warning}")
        for fig in self.figures.values():
            for note in fig.notes:
                out.append(f"note     {fig.metric}: {note}")
        table = self.map_table.path if self.map_table and self.map_table.path else None
        tiles = (f"global Kanto tiles from {table}" if table
                 else "no map table found: (map, x, y) triples (see --map-data)")
        out.append(f"tiles    {tiles}")
        out.append(f"ingest   {self.files_read} log file{'s' if self.files_read != 1 else ''} "
                   "read (the rest cached)")
        for path in self.paths:
            out.append(f"wrote    {path}")
        out.append(f"time     {self.seconds:.2f} s in total")
        return out

    def run_lines(self) -> list[str]:
        """One line per compared run (``pokeviz compare -v``)."""
        out = []
        for v in self.variants:
            for data in v.runs:
                r = data.report
                steps = (f"{r.first_global_step:,} … {r.last_global_step:,}"
                         if r.last_global_step is not None else "none")
                out.append(f"run      {v.name}/{data.run.timestamp}: {r.files} files "
                           f"({len(r.update.ingested)} read), {r.entries:,} entries, "
                           f"steps {steps}, {data.tiles:,} tiles")
            for reason in v.skipped:
                out.append(f"skipped  {v.name}: {reason}")
        return out


def _run_data(run: Run, report: IngestReport, con: duckdb.DuckDBPyConnection,
              table: MapTable | None) -> RunData:
    """Read one run's per-file statistics and tile first-visit steps from its views."""
    files = con.execute(
        "SELECT file, first_global_step, last_global_step FROM files "
        "WHERE entries > 0 ORDER BY file_order"
    ).fetchall()
    slot = {name: i for i, (name, _, _) in enumerate(files)}
    wanted = sorted({m for m, _, _ in _STAT_METRICS.values()})
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
        run=run,
        report=report,
        file_first=np.array([r[1] for r in files], dtype=np.int64),
        file_last=np.array([r[2] for r in files], dtype=np.int64),
        stats=stats,
        tile_steps=np.sort(first),
    )


def _run_points(data: RunData, metric: str, statistic: str) -> RunSeries | None:
    """One run's points for a panel, or None when the run has none."""
    if metric == "exploration":
        if not len(data.file_last):
            return None
        steps = np.concatenate([[data.file_first.min()], data.file_last]).astype(np.float64)
        values = np.searchsorted(data.tile_steps, steps, side="right").astype(np.float64)
    else:
        steps = data.file_mid
        values = data.stats[metric][statistic]
    keep = ~np.isnan(values)
    steps, values = steps[keep], values[keep]
    if not len(steps):
        return None
    # Files sharing a step (possible after a resumed run) become one point: their mean.
    unique, inverse = np.unique(steps, return_inverse=True)
    counts = np.bincount(inverse)
    return RunSeries(run=data.run, steps=unique,
                     values=np.bincount(inverse, weights=values) / counts)


def mean_and_band(runs: Sequence[RunSeries]) -> tuple[np.ndarray, np.ndarray,
                                                      np.ndarray | None, np.ndarray | None,
                                                      float | None]:
    """The mean over runs on the common grid, with its 95 % band.

    Args:
        runs: at least one run, each with increasing, distinct steps.

    Returns:
        ``(grid, mean, low, high, t)``. One run: its own steps and values, no band
        (``low = high = t = None``). Several: the grid is the sorted union of the runs'
        steps inside ``[max first step, min last step]`` (empty when the runs do not
        overlap); each run is linearly interpolated onto it (no extrapolation); ``mean``
        is the mean over runs and the band ``mean ± t(0.975, n-1) · s / √n`` with ``s``
        the sample standard deviation (ddof 1). Pure and deterministic.
    """
    if len(runs) == 1:
        return runs[0].steps.copy(), runs[0].values.copy(), None, None, None
    start = max(r.first_step for r in runs)
    end = min(r.last_step for r in runs)
    inside = [r.steps[(r.steps >= start) & (r.steps <= end)] for r in runs]
    grid = np.unique(np.concatenate(inside)) if start <= end else np.empty(0)
    values = np.vstack([np.interp(grid, r.steps, r.values) for r in runs])
    n = len(runs)
    mean = values.mean(axis=0)
    t = t_quantile_975(n - 1)
    half = t * values.std(axis=0, ddof=1) / math.sqrt(n)
    return grid, mean, mean - half, mean + half, t


def _panel(key: str, title: str, ylabel: str, variants_: Sequence[VariantData], metric: str,
           statistic: str) -> Panel:
    panel = Panel(key=key, title=title, ylabel=ylabel)
    for v in variants_:
        series = [s for s in (_run_points(d, metric, statistic) for d in v.runs) if s]
        if not series:
            continue
        grid, mean, low, high, t = mean_and_band(series)
        panel.variants[v.name] = VariantSeries(
            variant=v.name, color=v.color, runs=series, grid=grid, mean=mean, low=low,
            high=high, t=t,
        )
    return panel


def figure_data(metric: str, variants_: Sequence[VariantData],
                table: MapTable | None) -> ComparisonFigure:
    """The data behind the ``metric`` figure (see the module docstring for the method).

    Args:
        metric: one of :data:`METRICS`.
        variants_: the compared variants (unusable ones are skipped).
        table: the map table used for ``exploration`` (only its title depends on it).

    Returns:
        The :class:`ComparisonFigure` (no paths yet), with notes on runs that lack the
        metric and on means cut at the shortest run. Deterministic.

    Raises:
        ValueError: an unknown metric.
    """
    usable = [v for v in variants_ if v.usable]
    names = ", ".join(v.name for v in usable)
    if metric == "exploration":
        kind = "global Kanto tiles" if table is not None else "(map, x, y) tiles, no map table"
        panels = [_panel("exploration", f"unique tiles visited, cumulative ({kind})",
                         "unique tiles", usable, metric, "")]
        title = "Exploration"
    elif metric in _STAT_METRICS:
        stat, what, ylabel = _STAT_METRICS[metric]
        if metric == "reward_total":
            panels = [_panel(stat, f"{what}: per-file mean over all entries", ylabel,
                             usable, stat, "mean")]
            title = "Total reward"
        else:
            panels = [_panel(f"{stat}_{s}", f"per-file {s} over all entries", ylabel, usable,
                             stat, s) for s in ("mean", "max")]
            title = what[0].upper() + what[1:]
    else:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    fig = ComparisonFigure(metric=metric, title=f"{title} · {names}", panels=panels)
    if metric != "reward_total":
        fig.floor = 0.0
    for v in variants_:
        if not v.usable:
            fig.notes.append(f"{v.name}: no usable log files (not drawn)")
    runs = [d for v in usable for d in v.runs if len(d.file_first)]
    if runs:
        # The same x range in every figure: from before the first entry to the last.
        fig.step_range = (float(min(d.file_first.min() for d in runs) - 1),
                          float(max(d.file_last.max() for d in runs)))
    first = panels[0]
    for v in usable:
        lacking = len(v.runs) - (first.variants[v.name].n_runs if v.name in first.variants
                                 else 0)
        if lacking:
            what = "its runs have" if lacking == len(v.runs) else f"{lacking} of its runs have"
            field_name = "positions" if metric == "exploration" else _STAT_METRICS[metric][0]
            fig.notes.append(f"{v.name}: {what} no {field_name} in the logs "
                             "(not drawn, never counted as 0)")
        series = first.variants.get(v.name)
        if series is not None and series.n_runs >= 2:
            if not len(series.grid):
                fig.notes.append(f"{v.name}: its runs cover no common step range; "
                                 "no mean drawn, only the runs")
            elif series.truncated:
                longest = max(r.last_step for r in series.runs)
                fig.notes.append(
                    f"{v.name}: mean and band up to step {format_steps(series.grid[-1])}, "
                    f"where its shortest run ends; longer runs go on (to "
                    f"{format_steps(longest)}) as thin lines")
    below = sorted({s.variant for p in panels for s in p.variants.values()
                    if fig.floor is not None and s.low is not None and len(s.low)
                    and float(s.low.min()) < fig.floor})
    if below:
        fig.notes.append(f"{', '.join(below)}: the 95 % band reaches below 0 (few runs give "
                         "wide bands); counts cannot be negative, so the axis starts at 0")
    return fig


# ---------------------------------------------------------------------------
# Figure


#: Per-variant detail panels per row.
DETAIL_COLUMNS = 4


def _draw_overlay(ax: Axes, panel: Panel) -> None:
    """Every variant's mean (thick) and band (shaded) on one axes."""
    for series in panel.variants.values():
        if series.has_band and len(series.grid):
            ax.fill_between(series.grid, series.low, series.high, color=series.color,
                            alpha=0.15, linewidth=0, zorder=1)
    for series in panel.variants.values():
        ax.plot(series.grid, series.mean, color=series.color, linewidth=1.8, zorder=3,
                marker="o" if len(series.grid) == 1 else None, markersize=3,
                label=series.label)
    ax.set_title(panel.title, loc="left", fontsize=9)
    ax.set_ylabel(panel.ylabel)


def _draw_detail(ax: Axes, series: VariantSeries, what: str) -> None:
    """One variant alone: its runs (thin), mean (thick) and band (shaded)."""
    if series.has_band and len(series.grid):
        ax.fill_between(series.grid, series.low, series.high, color=series.color,
                        alpha=0.22, linewidth=0, zorder=1)
    if series.n_runs > 1:
        for run in series.runs:
            ax.plot(run.steps, run.values, color=series.color, linewidth=0.6, alpha=0.6,
                    zorder=2)
    ax.plot(series.grid, series.mean, color=series.color, linewidth=1.6, zorder=3,
            marker="o" if len(series.grid) == 1 else None, markersize=3)
    runs = f"{series.n_runs} runs" if series.n_runs > 1 else "1 run, no band"
    ax.set_title(f"{series.variant} · {runs}{what}", loc="left", fontsize=8, color=series.color,
                 fontweight="bold")
    ax.tick_params(labelsize=7)


def comparison_figure(data: ComparisonFigure) -> Figure:
    """Draw one comparison figure.

    Layout: a legend row under the title (one entry per variant saying which band is
    shown over how many runs); the overlay panel(s), every variant's mean (thick) and
    95 % band (shaded) together; below, one small panel per variant with the first
    overlay's data alone: its single runs (thin, the exact per-file values), mean and
    band. All panels have the same x range; the detail panels share the first overlay's
    y axis. Notes (runs without the metric, means cut at the shortest run) at the bottom.

    Args:
        data: from :func:`figure_data`.

    Returns:
        A matplotlib Figure (Agg canvas), laid out once and frozen, axes positions
        rounded (:func:`pokeviz.plots.style.freeze_layout`); call inside
        :func:`pokeviz.plots.style.theme`. Deterministic: the same data give the same
        bytes in every format, whichever formats are saved and in which order.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    n = len(data.panels)
    details = list(data.panels[0].variants.values())
    n_cols = max(1, min(DETAIL_COLUMNS, len(details)))
    n_rows = -(-len(details) // n_cols) if details else 0
    height = 0.45 + 0.45 + 3.0 + 1.55 * n_rows + 0.3 + 0.13 * len(data.notes)
    fig = new_figure(FIGURE_WIDTH_IN, height, layout="constrained")
    fig.suptitle(data.title, fontsize=10)
    columns = n_cols * n  # a common multiple: overlays and details both tile the width
    grid = fig.add_gridspec(2 + n_rows, columns, height_ratios=[0.45, 3.0] + [1.55] * n_rows)
    legend_box = fig.add_subplot(grid[0, :])
    legend_box.set_axis_off()
    axes: list[Axes] = []
    for i, panel in enumerate(data.panels):
        # x limits are set on every panel, not shared: shared axes would share one tick
        # locator, and small panels need fewer ticks.
        # Overlays keep their own y scale: a per-file max dwarfs a per-file mean.
        ax = fig.add_subplot(grid[1, i * n_cols:(i + 1) * n_cols])
        _draw_overlay(ax, panel)
        if data.floor is not None:
            # Counts start at the floor (a sliver below it keeps a line at 0 visible) and
            # span at least 1, so all-zero curves sit on a readable axis.
            top = max(ax.get_ylim()[1], data.floor + 1)
            ax.set_ylim(data.floor - 0.02 * (top - data.floor), top)
        if data.metric == "badges":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.append(ax)
    what = f", per-file {data.panels[0].key.rsplit('_', 1)[-1]}" if n > 1 else ""
    for j, series in enumerate(details):
        row, col = 2 + j // n_cols, (j % n_cols) * n
        ax = fig.add_subplot(grid[row, col:col + n], sharey=axes[0])
        _draw_detail(ax, series, what)
        axes.append(ax)
    for ax in axes:
        small = ax not in axes[:n]
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3 if small or n > 1 else 6,
                                               steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(format_steps))
        ax.tick_params(labelleft=True, labelbottom=True)
    for ax in axes[:n]:
        ax.set_xlabel("global training step")
    if data.step_range is not None:
        for ax in axes:
            ax.set_xlim(*data.step_range)
    if not details:
        axes[0].text(0.5, 0.5, "no values of this metric in these logs", ha="center",
                     va="center", transform=axes[0].transAxes)
    handles, labels = axes[0].get_legend_handles_labels()
    if any(v.n_runs > 1 for v in details):
        handles.append(Line2D([], [], color=".4", linewidth=0.6, alpha=0.8))
        labels.append("thin (per-variant panels): single runs, exact per-file values")
    if handles:
        legend_box.legend(handles, labels, loc="center", ncols=2, fontsize=7.5,
                          frameon=False, borderaxespad=0, handlelength=1.8)
    if data.notes:
        fig.supxlabel("\n".join(data.notes), fontsize=7, color=".35", x=0.01,
                      horizontalalignment="left")
    return freeze_layout(fig)


# ---------------------------------------------------------------------------
# The public function


def compare_names(variant_names: Sequence[str], metric: str, fmt: str) -> str:
    """The file name of one comparison figure: ``compare_v1-v2_{metric}.{fmt}``."""
    return f"compare_{'-'.join(variant_names)}_{metric}.{fmt}"


def _table(variants_: Sequence[VariantData]) -> list[str]:
    header = ("variant", "runs", "entries", "last step", "final reward (mean ± 95% CI)",
              "tiles/run", "max badges")
    rows = []
    for v in variants_:
        if not v.usable:
            rows.append((v.name, "0", "-", "-", "no usable log files", "-", "-"))
            continue
        entries = sum(d.report.entries for d in v.runs)
        last = max(d.report.last_global_step or 0 for d in v.runs)
        finals = [f for f in (d.final("reward_total") for d in v.runs) if f is not None]
        if not finals:
            reward = "no reward_total"
        elif len(finals) == 1:
            reward = f"{finals[0]:.2f} (1 run, no CI)"
        else:
            half = t_quantile_975(len(finals) - 1) * float(np.std(finals, ddof=1)) / math.sqrt(
                len(finals))
            reward = f"{float(np.mean(finals)):.2f} ± {half:.2f}"
        tiles = float(np.mean([d.tiles for d in v.runs]))
        badges = [b for b in (d.maximum("badges") for d in v.runs) if b is not None]
        rows.append((v.name, str(len(v.runs)), f"{entries:,}", f"{last:,}", reward,
                     f"{tiles:,.0f}", f"{max(badges):.0f}" if badges else "-"))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 2, 3, 5, 6}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), *(line(r) for r in rows)]


def compare_variants(
    variants: Sequence[str] | None = None,
    *,
    experiments_dir: str | Path = "experiments",
    runs: str = "all",
    output_dir: str | Path | None = None,
    formats: Sequence[str] = ("png",),
    metrics: Sequence[str] = DEFAULT_METRICS,
    jobs: int | None = None,
    map_data: str | Path | None = None,
    progress: Callable[[Run, int, int], Any] | None = None,
) -> CompareResult:
    """Compare variants side by side over their runs (``pokeviz compare``).

    Args:
        variants: variant folder names under ``experiments_dir``, in the order wanted
            (default: every folder holding a run, in name order).
        experiments_dir: where variant folders live.
        runs: ``"all"`` (every run of a variant: the band is across them) or
            ``"latest"`` (only the greatest timestamp).
        output_dir: where to write (created); default ``<experiments_dir>/plots/``.
        formats: one or more of ``png``, ``pdf``, ``svg``.
        metrics: figures to draw, of :data:`METRICS` (default reward_total, exploration).
        jobs: ingest worker processes per run (results do not depend on it).
        map_data: the ``map_data.json`` for global tiles; default ``POKEVIZ_MAP_DATA``,
            then a search from ``experiments_dir`` upward
            (:func:`pokeviz.kanto.resolve_map_table`).
        progress: ``progress(run, done_bytes, total_bytes)`` during each run's ingest.

    Returns:
        The :class:`CompareResult`: one ``compare_{v1-v2-…}_{metric}.{fmt}`` per metric
        and format (variant names as compared, including ones not drawn), the table,
        warnings and the data behind every figure.

    Raises:
        PokevizError: bad arguments; ``RunNotFoundError`` for a missing experiments or
            variant folder; ``NoLogFilesError`` when no variant has a usable log file;
            ``MapTableError`` for a bad map table.
        OSError: the output folder cannot be written.

    A variant without usable log files (no run, no ``stats_*.json``, or no entries in
    them) is named in a warning and the others are still drawn. Each run's cache is
    updated first; on unchanged logs no file is read. Deterministic: same logs and
    arguments, byte-identical files.
    """
    started = time.perf_counter()
    experiments = Path(experiments_dir)
    formats = list(dict.fromkeys(f.lower().lstrip(".") for f in formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise PokevizError(f"unknown plot format {', '.join(bad) or '(none)'}: use one or "
                           f"more of {', '.join(FORMATS)}")
    metrics = list(dict.fromkeys(metrics))
    bad = [m for m in metrics if m not in METRICS]
    if bad or not metrics:
        raise PokevizError(f"unknown metric {', '.join(bad) or '(none)'}: use one or more "
                           f"of {', '.join(METRICS)}")
    if runs not in RUN_CHOICES:
        raise PokevizError(f"--runs must be one of {', '.join(RUN_CHOICES)}, got {runs!r}")
    if not experiments.is_dir():
        raise RunNotFoundError(f"{experiments}: no such experiments folder; "
                               "pass --experiments-dir DIR (the folder holding v1/, v2/, …)")
    found = [p.name for p in variant_dirs(experiments)]
    names = list(dict.fromkeys(variants)) if variants else found
    if not names:
        raise RunNotFoundError(f"{experiments}: no variant folders with runs "
                               "(<variant>/<YYYYMMDD_HHMMSS>/json_logs/)")
    for name in names:
        if not (experiments / name).is_dir():
            raise RunNotFoundError(
                f"{experiments / name}: no such variant folder; variants here: "
                f"{', '.join(found) or 'none'}")
    colors = variant_colors(sorted(set(found) | set(names)))
    table, map_notes = resolve_map_table(experiments, map_data)

    compared: list[VariantData] = []
    warnings: list[str] = list(map_notes)
    files_read = 0
    for name in names:
        v = VariantData(name=name, path=experiments / name, color=colors[name])
        candidates = runs_of_variant(v.path)
        if runs == "latest":
            candidates = candidates[-1:]
        if not candidates:
            v.skipped.append(f"no run folders (YYYYMMDD_HHMMSS) in {v.path}")
        for run in candidates:
            run = Run(run.path.resolve())
            try:
                logs = list_log_files(run)
            except NoLogFilesError as exc:
                v.skipped.append(f"run {run.timestamp}: {exc}")
                continue
            if not logs:
                v.skipped.append(f"run {run.timestamp}: {run.logs_dir}: no stats_*.json files")
                continue
            with open_run(run, jobs=jobs, progress=(
                    None if progress is None else lambda d, t, r=run: progress(r, d, t))) as view:
                report = view.report
                files_read += len(report.update.ingested)
                if report.entries:
                    v.runs.append(_run_data(run, report, view.con, table))
                else:
                    files = "1 log file has" if report.files == 1 else (
                        f"{report.files} log files have")
                    v.skipped.append(f"run {run.timestamp}: its {files} no complete entry yet")
        if not v.usable:
            warnings.append(f"variant {name}: no usable log files in {v.path} (not drawn): "
                            + "; ".join(v.skipped))
        elif v.skipped:
            warnings.append(f"variant {name}: {len(v.skipped)} run(s) skipped: "
                            + "; ".join(v.skipped))
        compared.append(v)
    if not any(v.usable for v in compared):
        raise NoLogFilesError(f"{experiments}: no usable log files in "
                              f"{', '.join(names)}; " + " ".join(warnings))

    out_dir = Path(output_dir) if output_dir is not None else experiments / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, ComparisonFigure] = {}
    paths: list[Path] = []
    with theme():
        for metric in metrics:
            data = figure_data(metric, compared, table)
            fig = comparison_figure(data)
            for fmt in formats:
                data.paths.append(save_figure(fig, out_dir / compare_names(names, metric, fmt),
                                              fmt))
            paths.extend(data.paths)
            figures[metric] = data
    return CompareResult(
        variants=compared,
        figures=figures,
        paths=paths,
        table=_table(compared),
        warnings=warnings,
        map_table=table,
        files_read=files_read,
        seconds=time.perf_counter() - started,
    )
