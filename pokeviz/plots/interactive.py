"""Interactive twins of the run figures: Plotly figure dicts from the figures' own data.

:func:`reward_traces` and :func:`heatmap_traces` turn the same data objects the
matplotlib renderers draw (:class:`~pokeviz.plots.rewards.RewardData` from
``reward_data(con)``, :class:`~pokeviz.plots.heatmap.HeatmapData` from
``heatmap_data(con, table)``) into Plotly figures written as plain, JSON-able dicts
(``{"data": [...], "layout": {...}}``), so a static page (``pokeviz plot --format
html``), the live server and the compare page show the same numbers.
:func:`write_html` writes one as a self-contained page. Pure functions: nothing here
reads the cache or imports plotly; deterministic, with floats in their shortest
round-trip form, so a per-file mean in a page is the exact value in the cache.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .interactive_map import colorscale, heatmap_traces
from .page import (
    FONT,
    axis_name,
    axis_ref,
    axis_style,
    empty_figure,
    figure_json,
    html_page,
    panel_title,
    plotly_js,
    rgba,
    title_block,
    write_html,
)
from .rewards import STANDARD_METRICS, MetricSeries, RewardData, band, missing_notes
from .style import metric_color

__all__ = [
    "colorscale",
    "figure_json",
    "heatmap_traces",
    "html_page",
    "plotly_js",
    "reward_traces",
    "write_html",
]

#: Colour of the rolling-mean line and of the sample dots (as in the static figure).
SMOOTH_COLOR = "#4d4d4d"
SAMPLE_COLOR = "#b8b8b8"
#: Pixel sizes of the reward page: title block, total panel, one row of components.
_TITLE_PX, _TOTAL_PX, _ROW_PX, _GAP_PX, _BOTTOM_PX = 110, 340, 210, 70, 70


# ---------------------------------------------------------------------------
# Reward figure

#: Legend order of the layers (smaller first), as in the static figure.
_LAYER_RANK = {"mean": 1, "band": 2, "smoothed": 3, "samples": 4}


def _metric_traces(data: RewardData, series: MetricSeries, axis: int, first: bool,
                   emphasize: bool) -> list[dict[str, Any]]:
    """The layers of one metric in one panel: band, samples, rolling mean, mean."""
    color = metric_color(series.metric)
    x, y = f"x{'' if axis == 1 else axis}", f"y{'' if axis == 1 else axis}"
    mid = data.file_mid_step
    low, high = band(series)
    label = series.label
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "x": mid, "y": low, "xaxis": x, "yaxis": y, "mode": "lines",
         "line": {"width": 0, "color": color}, "hoverinfo": "skip", "showlegend": False,
         "legendgroup": "band", "name": f"{label}: band low"},
        {"type": "scatter", "x": mid, "y": high, "xaxis": x, "yaxis": y, "mode": "lines",
         "line": {"width": 0, "color": color}, "fill": "tonexty",
         "fillcolor": rgba(color, 0.25), "hoverinfo": "skip", "showlegend": first,
         "legendgroup": "band", "legendrank": _LAYER_RANK["band"],
         "name": "per-file mean ± 1 std, within min–max (all entries)"},
    ]
    if emphasize and len(series.sample_step):
        traces.append(
            {"type": "scatter", "x": series.sample_step, "y": series.sample_value,
             "xaxis": x, "yaxis": y, "mode": "markers",
             "marker": {"size": 2.5, "color": SAMPLE_COLOR},
             "hovertemplate": "global step %{x:,}<br>%{y:.4g}<extra>sample</extra>",
             "showlegend": True, "legendgroup": "samples",
             "legendrank": _LAYER_RANK["samples"], "name": "reservoir samples"})
    if len(series.smooth_step):
        traces.append(
            {"type": "scatter", "x": np.round(series.smooth_step, 1),
             "y": series.smooth_value, "xaxis": x, "yaxis": y, "mode": "lines",
             "line": {"width": 1.2 if emphasize else 1.0, "color": SMOOTH_COLOR},
             "hovertemplate": ("global step %{x:,.0f}<br>%{y:.4g}"
                               f"<extra>{label}: rolling mean of {series.window}</extra>"),
             "showlegend": first, "legendgroup": "smoothed",
             "legendrank": _LAYER_RANK["smoothed"],
             "name": f"samples, rolling mean (window {series.window})"})
    custom = [
        [name, int(lo), int(hi), None if math.isnan(n) else int(n), s, mn, mx]
        for name, lo, hi, n, s, mn, mx in zip(
            data.file_names, data.file_first_step.tolist(), data.file_last_step.tolist(),
            series.count.tolist(), series.std.tolist(), series.minimum.tolist(),
            series.maximum.tolist(), strict=True)
    ]
    single = len(mid) < 2 or int(np.isnan(series.mean).sum()) >= len(mid) - 1
    traces.append(
        {"type": "scatter", "x": mid, "y": series.mean, "xaxis": x, "yaxis": y,
         "mode": "lines+markers", "customdata": custom,
         "line": {"width": 2.6 if emphasize else 1.8, "color": color},
         "marker": {"size": 6 if single else 4, "color": color},
         "hovertemplate": ("%{customdata[0]}<br>global steps %{customdata[1]:,}–"
                           "%{customdata[2]:,}<br>mean %{y:.6g} ± %{customdata[4]:.4g} "
                           "(min %{customdata[5]:.4g}, max %{customdata[6]:.4g})<br>"
                           f"%{{customdata[3]:,}} entries<extra>{label}</extra>"),
         "showlegend": first, "legendgroup": "mean", "legendrank": _LAYER_RANK["mean"],
         "name": "per-file mean (all entries)"})
    return traces


def reward_traces(data: RewardData, *, title: str = "", columns: int = 4) -> dict[str, Any]:
    """The reward figure as a Plotly figure dict.

    The same layers as :func:`pokeviz.plots.rewards.reward_figure`: per metric the exact
    per-file mean over all entries (hover: file, its global steps, mean ± std, min, max,
    entries), the band mean ± 1 std clipped to min–max, the rolling mean of the
    reservoir samples, and, for the total (or the first panel without a total), the
    samples themselves. Total on top, each other metric in its own panel below; all x
    axes are linked (zoom one, all follow). Legend entries toggle one layer in every
    panel. Metric colours come from :func:`pokeviz.plots.style.metric_color`.

    Args:
        data: from :func:`pokeviz.plots.rewards.reward_data`.
        title: the first title line (variant and run); the sampling line is added.
        columns: component panels per row.

    Returns:
        ``{"data": [...], "layout": {...}}`` with numpy arrays (see :func:`figure_json`).
        Size: about 40 bytes per drawn sample plus a few KB per file. Deterministic.
    """
    lines = [title or "rewards", data.sampling_line]
    notes = missing_notes(data)
    if not data.series:
        empty = "no reward values in these logs" if data.entries else "no entries yet"
        return empty_figure(lines + notes, empty)

    total = data.series.get("reward_total")
    parts = [s for m, s in data.series.items() if m != "reward_total"]
    n_cols = max(1, min(columns, len(parts)))
    n_rows = -(-len(parts) // n_cols) if parts else 0
    # Above the panels: the title lines, the legend, the first panel's title.
    top_px = _TITLE_PX + 20 * len(notes)
    rows = ([_TOTAL_PX] if total is not None else []) + [_ROW_PX] * n_rows
    inner = sum(rows) + _GAP_PX * (len(rows) - 1)
    height = top_px + inner + _BOTTOM_PX

    def ydomain(top: float, size: float) -> list[float]:
        """Paper coordinates of a panel ``size`` px high, ``top`` px below the area's top."""
        return [round(1 - (top + size) / inner, 6), round(1 - top / inner, 6)]

    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "font": FONT, "height": height,
        "template": "none", "plot_bgcolor": "white", "paper_bgcolor": "white",
        "hovermode": "closest", "margin": {"l": 70, "r": 20, "t": top_px, "b": _BOTTOM_PX},
        # The legend sits above the first panel's title.
        "legend": {"orientation": "h", "x": 0.0, "xanchor": "left",
                   "y": round(1 + 26 / inner, 6),
                   "yanchor": "bottom", "yref": "paper", "itemsizing": "constant",
                   "font": {"size": 11}},
        "annotations": [title_block(lines + notes, top_px)],
    }
    axis = 1
    y_px = 0
    span = [None, None]
    if data.first_global_step is not None and data.last_global_step is not None:
        left = data.first_global_step - 1
        span = [left, max(data.last_global_step, left + 1)]
    xstyle = axis_style(range=span, tickformat="~s", hoverformat=",.0f")
    if total is not None:
        traces += _metric_traces(data, total, axis, first=True, emphasize=True)
        dom = ydomain(y_px, _TOTAL_PX)
        layout["xaxis"] = {**xstyle, "domain": [0, 1], "anchor": "y"}
        layout["yaxis"] = axis_style(domain=dom, anchor="x",
                                      title={"text": "reward", "standoff": 6})
        layout["annotations"].append(
            panel_title("total reward (cumulative in the episode)", 0, dom[1]))
        y_px += _TOTAL_PX + _GAP_PX
        axis += 1
    gap = 0.06
    width = (1 - gap * (n_cols - 1)) / n_cols
    for i, series in enumerate(parts):
        row, col = divmod(i, n_cols)
        x0 = col * (width + gap)
        dom = ydomain(y_px + row * (_ROW_PX + _GAP_PX), _ROW_PX)
        first = total is None and i == 0
        traces += _metric_traces(data, series, axis, first=first, emphasize=first)
        layout[axis_name("x", axis)] = {
            **xstyle, "domain": [round(x0, 6), round(x0 + width, 6)],
            "anchor": axis_ref("y", axis), "matches": None if axis == 1 else "x", "nticks": 4}
        layout[axis_name("y", axis)] = axis_style(domain=dom, anchor=axis_ref("x", axis),
                                                    nticks=5)
        extra = "" if series.metric in STANDARD_METRICS else " (extra)"
        layout["annotations"].append(panel_title(series.label + extra, x0, dom[1],
                                                  color=metric_color(series.metric),
                                                  bold=True))
        axis += 1
    layout["annotations"].append(
        {"text": "global training step (every panel)", "x": 0.5, "y": 0, "xref": "paper",
         "yref": "paper", "yshift": -45, "showarrow": False, "font": {"size": 12}})
    for key in [k for k in layout if k.startswith("xaxis")]:
        if layout[key].get("matches") is None:
            layout[key].pop("matches", None)
    return {"data": traces, "layout": layout}
