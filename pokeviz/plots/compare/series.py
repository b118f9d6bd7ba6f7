"""The data behind each comparison figure: per-run points, the mean over runs and its band."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...discover import Run
from ...kanto import MapTable
from ...stats import BANDS, band_half_width, band_label, t_quantile
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
        low, high: the band (``band``), or None with fewer than 2 runs or ``none``.
        t: the t quantile of a ``ci95`` band (None otherwise).
        band: which band: ``ci95``, ``se``, ``sd`` or ``none``
            (:data:`pokeviz.stats.BANDS`).
    """

    variant: str
    color: str
    runs: list[RunSeries]
    grid: np.ndarray
    mean: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    t: float | None = None
    band: str = "ci95"

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
        if self.n_runs == 1:
            return f"{self.variant}: 1 run, no band"
        return f"{self.variant}: mean of {self.n_runs} runs {band_label(self.band, self.n_runs)}"

    @property
    def truncated(self) -> bool:
        """True when some run goes on beyond the end of the mean (shorter runs)."""
        return bool(self.runs) and len(self.grid) > 0 and max(
            r.last_step for r in self.runs) > float(self.grid[-1])


@dataclass
class Panel:
    """One axes of a comparison figure.

    ``ylim`` is the y range drawn: it follows the data (means and single runs), not the
    bands, which are cut at the axis when wider (:func:`figure_data` says so in a note).
    """

    key: str
    title: str
    ylabel: str
    variants: dict[str, VariantSeries] = field(default_factory=dict)
    ylim: tuple[float, float] | None = None


@dataclass
class ComparisonFigure:
    """The data behind one ``compare_…_{metric}`` figure and the files written.

    ``step_range`` is the x range drawn (from one step before the first entry of any
    compared run to the last), the same in every figure of one comparison. ``floor``
    is 0 for counts (tiles, badges, levels, deaths): the y axis starts there, and a
    band reaching below it (wide bands of few runs) is cut at the axis, with a note.
    ``band`` is the band drawn (``ci95``, ``se``, ``sd`` or ``none``).
    """

    metric: str
    title: str
    panels: list[Panel]
    band: str = "ci95"
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


def mean_and_band(runs: Sequence[RunSeries], band: str = "ci95"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None,
                             float | None]:
    """The mean over runs on the common grid, with its band.

    Args:
        runs: at least one run, each with increasing, distinct steps.
        band: ``ci95`` (95 % CI of the mean, Student's t), ``se`` (± 1 standard error),
            ``sd`` (± 1 standard deviation) or ``none``.

    Returns:
        ``(grid, mean, low, high, t)``. One run: its own steps and values, no band
        (``low = high = t = None``). Several: the grid is the sorted union of the runs'
        steps inside ``[max first step, min last step]`` (empty when the runs do not
        overlap); each run is linearly interpolated onto it (no extrapolation); ``mean``
        is the mean over runs and, for ``ci95``, the band ``mean ± t(0.975, n-1) · s / √n``
        (:func:`pokeviz.stats.band_half_width`; ``t`` is None for other bands). Pure and
        deterministic.
    """
    if len(runs) == 1:
        return runs[0].steps.copy(), runs[0].values.copy(), None, None, None
    start = max(r.first_step for r in runs)
    end = min(r.last_step for r in runs)
    inside = [r.steps[(r.steps >= start) & (r.steps <= end)] for r in runs]
    grid = np.unique(np.concatenate(inside)) if start <= end else np.empty(0)
    values = np.vstack([np.interp(grid, r.steps, r.values) for r in runs])
    mean = values.mean(axis=0)
    half = band_half_width(values, band, axis=0)
    if half is None:
        return grid, mean, None, None, None
    t = t_quantile(len(runs) - 1) if band == "ci95" else None
    return grid, mean, mean - half, mean + half, t


def _panel(key: str, title: str, ylabel: str, variants_: Sequence[VariantData], metric: str,
           statistic: str, band: str) -> Panel:
    panel = Panel(key=key, title=title, ylabel=ylabel)
    for v in variants_:
        series = [s for s in (run_points(d, metric, statistic) for d in v.runs) if s]
        if not series:
            continue
        grid, mean, low, high, t = mean_and_band(series, band)
        panel.variants[v.name] = VariantSeries(
            variant=v.name, color=v.color, runs=series, grid=grid, mean=mean, low=low,
            high=high, t=t, band=band,
        )
    return panel


def data_ylim(panel: Panel, floor: float | None) -> tuple[float, float] | None:
    """The y range of a panel's data: its means and single runs, 5 % padding.

    Counts (``floor`` 0) start at the floor (a sliver below it keeps a line at 0
    visible) and span at least 1. None when the panel has no data.
    """
    values = [v for s in panel.variants.values()
              for v in (s.mean, *(r.values for r in s.runs)) if len(v)]
    if not values:
        return None
    low = float(min(np.min(v) for v in values))
    high = float(max(np.max(v) for v in values))
    pad = 0.05 * (high - low) if high > low else max(0.5, 0.05 * abs(high))
    if floor is not None:
        top = max(high + pad, floor + 1)
        return floor - 0.02 * (top - floor), top
    return low - pad, high + pad


def figure_data(metric: str, variants_: Sequence[VariantData],
                table: MapTable | None, band: str = "ci95") -> ComparisonFigure:
    """The data behind the ``metric`` figure (method: :mod:`pokeviz.plots.compare`).

    Args:
        metric: one of :data:`METRICS`.
        variants_: the compared variants (unusable ones are skipped).
        table: the map table used for ``exploration`` (only its title depends on it).
        band: the band around each mean (:data:`pokeviz.stats.BANDS`).

    Returns:
        The :class:`ComparisonFigure` (no paths yet), with notes on runs that lack the
        metric and on means cut at the shortest run. Deterministic.

    Raises:
        ValueError: an unknown metric or band.
    """
    if band not in BANDS:
        raise ValueError(f"unknown band {band!r}: use one of {', '.join(BANDS)}")
    usable = [v for v in variants_ if v.usable]
    names = ", ".join(v.name for v in usable)
    if metric == "exploration":
        kind = "global Kanto tiles" if table is not None else "(map, x, y) tiles, no map table"
        panels = [_panel("exploration", f"unique tiles visited, cumulative ({kind})",
                         "unique tiles", usable, metric, "", band)]
        title = "Exploration"
    elif metric in STAT_METRICS:
        stat, what, ylabel = STAT_METRICS[metric]
        if metric == "reward_total":
            panels = [_panel(stat, f"{what}: per-file mean over all entries", ylabel,
                             usable, stat, "mean", band)]
            title = "Total reward"
        else:
            panels = [_panel(f"{stat}_{s}", f"per-file {s} over all entries", ylabel, usable,
                             stat, s, band) for s in ("mean", "max")]
            title = what[0].upper() + what[1:]
    else:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(METRICS)}")
    fig = ComparisonFigure(metric=metric, title=f"{title} · {names}", panels=panels, band=band)
    if metric != "reward_total":
        fig.floor = 0.0
    for panel in panels:
        panel.ylim = data_ylim(panel, fig.floor)
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
    clipped = sorted({s.variant for p in panels if p.ylim is not None
                      for s in p.variants.values() if s.low is not None and len(s.low)
                      and (float(s.low.min()) < p.ylim[0] or float(s.high.max()) > p.ylim[1])})
    if clipped:
        what = {"ci95": "95 % CI", "se": "standard-error", "sd": "standard-deviation"}[band]
        fig.notes.append(f"{', '.join(clipped)}: the {what} band is cut at the axis, which "
                         "follows the means and runs (few runs give wide bands)"
                         + ("; counts start at 0" if fig.floor is not None else ""))
    return fig
