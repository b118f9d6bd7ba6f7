"""The data behind each comparison figure: per-run points, the mean over runs and its band."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...discover import Run
from ...kanto import MapTable
from ...stats import half_width, t_quantile
from ..style import format_steps
from .data import STAT_METRICS, RunData, VariantData

#: ``--metric`` choices, in drawing order.
METRICS = ("reward_total", "exploration", "badges", "levels", "deaths")
#: Drawn when no metric is asked for.
DEFAULT_METRICS = ("reward_total", "exploration")


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


def run_points(data: RunData, metric: str, statistic: str) -> RunSeries | None:
    """One run's points for a panel, or None when the run has none.

    Per-file metrics: the file's exact statistic at its middle global step.
    ``exploration``: the cumulative count of unique tiles at each file's last step,
    plus a first point at the run's first step. Files sharing a step become one point.
    """
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
        is the mean over runs and the band ``mean ± t(0.975, n-1) · s / √n``
        (:func:`pokeviz.stats.half_width`). Pure and deterministic.
    """
    if len(runs) == 1:
        return runs[0].steps.copy(), runs[0].values.copy(), None, None, None
    start = max(r.first_step for r in runs)
    end = min(r.last_step for r in runs)
    inside = [r.steps[(r.steps >= start) & (r.steps <= end)] for r in runs]
    grid = np.unique(np.concatenate(inside)) if start <= end else np.empty(0)
    values = np.vstack([np.interp(grid, r.steps, r.values) for r in runs])
    mean = values.mean(axis=0)
    half = half_width(values, 0.95, axis=0)
    return grid, mean, mean - half, mean + half, t_quantile(len(runs) - 1)


def _panel(key: str, title: str, ylabel: str, variants_: Sequence[VariantData], metric: str,
           statistic: str) -> Panel:
    panel = Panel(key=key, title=title, ylabel=ylabel)
    for v in variants_:
        series = [s for s in (run_points(d, metric, statistic) for d in v.runs) if s]
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
    """The data behind the ``metric`` figure (method: :mod:`pokeviz.plots.compare`).

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
    elif metric in STAT_METRICS:
        stat, what, ylabel = STAT_METRICS[metric]
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
            field_name = "positions" if metric == "exploration" else STAT_METRICS[metric][0]
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
