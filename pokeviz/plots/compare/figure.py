"""Drawing one comparison figure with matplotlib, from :mod:`.series` data only."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from ..style import FIGURE_WIDTH_IN, format_steps, freeze_layout, new_figure
from .series import ComparisonFigure, Panel, VariantSeries

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Per-variant detail panels per row.
DETAIL_COLUMNS = 4
#: Notes are wrapped to this many characters per line (7 pt text across the figure).
NOTE_WIDTH_CHARS = 115


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


def _short(name: str, limit: int = 14) -> str:
    """A variant name cut to fit a detail panel's title (full names are in the legend)."""
    return name if len(name) <= limit else name[:limit - 1] + "…"


def _draw_detail(ax: Axes, series: VariantSeries) -> None:
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
    # Short enough for a quarter of the width: the legend says what is drawn.
    runs = f"{series.n_runs} runs" if series.n_runs > 1 else "1 run"
    ax.set_title(f"{_short(series.variant)} · {runs}", loc="left", fontsize=8,
                 color=series.color, fontweight="bold")
    ax.tick_params(labelsize=7)


def comparison_figure(data: ComparisonFigure) -> Figure:
    """Draw one comparison figure.

    Layout: a legend row under the title (one entry per variant saying which band is
    shown over how many runs); the overlay panel(s), every variant's mean (thick) and
    band (shaded) together; below, one small panel per variant with the first
    overlay's data alone: its single runs (thin, the exact per-file values), mean and
    band. All panels have the same x range; the detail panels share the first overlay's
    y axis. The y range follows the data (:attr:`Panel.ylim`); wider bands are cut at
    the axis. Notes (runs without the metric, means cut at the shortest run, bands cut)
    at the bottom, wrapped to the figure's width.

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
    notes = [line for note in data.notes for line in textwrap.wrap(note, NOTE_WIDTH_CHARS)]
    height = 0.45 + 0.45 + 3.0 + 1.55 * n_rows + 0.3 + 0.13 * len(notes)
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
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        if data.metric == "badges":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.append(ax)
    what = f"per-file {data.panels[0].key.rsplit('_', 1)[-1]}" if n > 1 else "per-file values"
    for j, series in enumerate(details):
        row, col = 2 + j // n_cols, (j % n_cols) * n
        ax = fig.add_subplot(grid[row, col:col + n], sharey=axes[0])
        _draw_detail(ax, series)
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
        labels.append(f"thin (per-variant panels): single runs, exact {what}")
    if handles:
        legend_box.legend(handles, labels, loc="center", ncols=2, fontsize=7.5,
                          frameon=False, borderaxespad=0, handlelength=1.8)
    if notes:
        fig.supxlabel("\n".join(notes), fontsize=7, color=".35", x=0.01,
                      horizontalalignment="left")
    return freeze_layout(fig)

