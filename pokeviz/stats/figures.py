"""The figures of ``pokeviz stats``: interval estimates, P(X > Y), sample efficiency, milestones.

Each is drawn from :class:`~pokeviz.stats.compute.StatsResult` data only, at 300 DPI
with the fixed variant colours, and saved byte-reproducibly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..plots.compare.colors import variant_colors
from ..plots.style import FIGURE_WIDTH_IN, format_steps, freeze_layout, new_figure, save_figure
from ..plots.style import theme as plot_theme
from .compute import StatsResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Panels of the interval-estimate figure, as rliable draws them.
INTERVAL_PANELS = (("median", "Median"), ("iqm", "IQM"), ("mean", "Mean"))


def figure_stem(result: StatsResult) -> str:
    """``stats_{v1-v2-…}_{metric}_{final|stepN}``: the start of every figure's name."""
    at = "final" if result.at == "final" else f"step{result.at}"
    return f"stats_{'-'.join(result.variants)}_{result.metric}_{at}"


def _interval_row(ax: Axes, y: float, point: float, ci: tuple[float, float] | None,
                  color: str) -> None:
    if ci is not None:
        ax.barh(y, ci[1] - ci[0], left=ci[0], height=0.6, color=color, alpha=0.75,
                linewidth=0)
    ax.plot([point, point], [y - 0.3, y + 0.3], color="black", linewidth=1.5,
            solid_capstyle="butt")
    if ci is None:
        ax.plot(point, y, marker="o", color=color, markersize=5)


def intervals_figure(result: StatsResult, colors: dict[str, str]) -> Figure:
    """IQM, median and mean per variant with their 95 % bootstrap intervals."""
    rows = result.aggregates
    fig = new_figure(FIGURE_WIDTH_IN, 1.2 + 0.38 * len(rows), layout="constrained")
    axes = fig.subplots(1, len(INTERVAL_PANELS), sharey=True)
    for ax, (name, title) in zip(axes, INTERVAL_PANELS, strict=True):
        for i, a in enumerate(rows):
            _interval_row(ax, -i, getattr(a, name), getattr(a, f"{name}_ci"), colors[a.variant])
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.get_major_locator().set_params(nbins=4)
    axes[0].set_yticks([-i for i in range(len(rows))],
                       [f"{a.variant} ({a.runs} run{'s' if a.runs != 1 else ''})"
                        for a in rows])
    axes[0].set_ylim(-len(rows) + 0.4, 0.6)
    fig.suptitle(f"{result.metric} at {result.at_text}", fontsize=9)
    fig.supxlabel("bars: 95 % stratified bootstrap CI over runs; black: point estimate "
                  "(IQM = 25 % trimmed mean); a dot: one run, no CI", fontsize=7, color=".35")
    return freeze_layout(fig)


def improvement_figure(result: StatsResult, colors: dict[str, str]) -> Figure:
    """P(X > Y) for every ordered pair, with its 95 % bootstrap interval."""
    pairs = result.improvement
    fig = new_figure(FIGURE_WIDTH_IN * 0.75, 1.1 + 0.3 * max(1, len(pairs)),
                     layout="constrained")
    ax = fig.add_subplot()
    for i, pair in enumerate(pairs):
        _interval_row(ax, -i, pair.p, pair.ci, colors[pair.x])
    ax.axvline(0.5, color=".4", linestyle="--", linewidth=0.8)
    ax.set_yticks([-i for i in range(len(pairs))], [f"P({p.x} > {p.y})" for p in pairs])
    ax.set_ylim(-max(1, len(pairs)) + 0.4, 0.6)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability of improvement (run pairs, ties ½)")
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"{result.metric} at {result.at_text}", fontsize=9)
    return freeze_layout(fig)


def efficiency_figure(result: StatsResult, colors: dict[str, str]) -> Figure:
    """IQM over runs against global step, with the 95 % bootstrap band."""
    from matplotlib.ticker import FuncFormatter

    fig = new_figure(FIGURE_WIDTH_IN, 3.4, layout="constrained")
    ax = fig.add_subplot()
    for variant in result.variants:
        curve = result.curves.get(variant)
        if curve is None:
            continue
        color = colors[variant]
        if curve.low is not None:
            ax.fill_between(curve.steps, curve.low, curve.high, color=color, alpha=0.18,
                            linewidth=0)
            label = f"{variant}: IQM of {curve.runs} runs ± 95 % bootstrap CI"
        else:
            label = f"{variant}: 1 run, no band"
        ax.plot(curve.steps, curve.iqm, color=color, linewidth=1.6, label=label,
                marker="o" if len(curve.steps) == 1 else None, markersize=3)
    ax.xaxis.set_major_formatter(FuncFormatter(format_steps))
    ax.set_xlabel("global training step")
    ax.set_ylabel(result.metric)
    ax.set_title(f"Sample efficiency: {result.metric}, per-file exact means", loc="left",
                 fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    return freeze_layout(fig)


def milestones_figure(result: StatsResult, colors: dict[str, str]) -> Figure:
    """Steps to each map (and badge count) per variant: mean and 95 % CI over the runs
    that reached it; ``k/N`` next to a point when only k of N runs did."""
    from matplotlib.ticker import FuncFormatter

    keys: dict[tuple[str, int], tuple[float, str]] = {}
    for v in result.variants:
        for s in result.milestones.get(v, []):
            first = keys.get((s.kind, s.key), (float("inf"), s.label))[0]
            keys[(s.kind, s.key)] = (min(first, s.mean), s.label)
    order = sorted(keys, key=lambda k: (k[0] != "map", keys[k][0] if k[0] == "map" else 0,
                                        k[1]))
    n = len(result.variants)
    fig = new_figure(FIGURE_WIDTH_IN, 1.3 + 0.32 * max(1, len(order)), layout="constrained")
    ax = fig.add_subplot()
    for j, v in enumerate(result.variants):
        offset = ((n - 1) / 2 - j) * (0.72 / max(1, n))  # the first variant on top
        for s in result.milestones.get(v, []):
            y = -order.index((s.kind, s.key)) + offset
            if s.ci is not None:
                ax.plot(s.ci, [y, y], color=colors[v], linewidth=1.2)
            ax.plot(s.mean, y, marker="o", color=colors[v], markersize=3.5,
                    label=v if s is result.milestones[v][0] else None)
            if s.reached < s.runs:
                ax.annotate(f"{s.reached}/{s.runs}", (s.mean, y), xytext=(4, 0),
                            textcoords="offset points", fontsize=5.5, va="center",
                            color=colors[v])
    ax.set_yticks([-i for i in range(len(order))], [keys[k][1] for k in order], fontsize=7)
    ax.set_ylim(-max(1, len(order)) + 0.4, 0.6)
    ax.xaxis.set_major_formatter(FuncFormatter(format_steps))
    ax.set_xlabel("first global step (mean over the runs that reached it, 95 % bootstrap CI)")
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Steps to each milestone", loc="left", fontsize=9)
    if order:
        ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=n,
                  frameon=False, borderaxespad=0.2, handlelength=1.2)
    return freeze_layout(fig)


def write_figures(result: StatsResult, out_dir: Path, formats: Sequence[str],
                  all_variants: Sequence[str]) -> list[Path]:
    """Draw and save the four figures; returns the paths, figure by figure.

    Args:
        result: the statistics.
        out_dir: an existing folder.
        formats: ``png``, ``pdf``, ``svg``.
        all_variants: every variant of the experiments folder (fixes the colours).
    """
    colors = variant_colors(list(all_variants))
    stem = figure_stem(result)
    drawings = [("intervals", intervals_figure), ("efficiency", efficiency_figure),
                ("milestones", milestones_figure)]
    if result.improvement:
        drawings.insert(1, ("improvement", improvement_figure))
    paths = []
    with plot_theme():
        for kind, draw in drawings:
            if kind == "milestones":
                name = f"stats_{'-'.join(result.variants)}_milestones"
            elif kind == "efficiency":
                name = f"stats_{'-'.join(result.variants)}_{result.metric}_efficiency"
            else:
                name = f"{stem}_{kind}"
            fig = draw(result, colors)
            paths += [save_figure(fig, out_dir / f"{name}.{fmt}", fmt) for fmt in formats]
    return paths
