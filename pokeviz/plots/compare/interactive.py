"""The comparison figures as interactive Plotly pages (``pokeviz compare --format html``)."""

from __future__ import annotations

import html
from typing import Any

from ..page import FONT, axis_name, axis_ref, axis_style, panel_title, rgba, title_block
from .series import ComparisonFigure

#: Pixels per overlay panel row, and the margins around them.
PANEL_HEIGHT_PX = 460


def comparison_traces(data: ComparisonFigure) -> dict[str, Any]:
    """A Plotly figure dict of one comparison, from the same data as the PNG.

    Each overlay panel gets, per variant: its band (shaded, when drawn), its mean
    (thick line, hover values) and its single runs (thin lines, hidden until the
    variant's "single runs" legend entry is clicked). A click on a variant's legend
    entry toggles its mean and band. The y range follows the data, as in the static figure.

    Args:
        data: from :func:`pokeviz.plots.compare.figure_data`.

    Returns:
        ``{"data": [...], "layout": {...}}``, JSON-able (see
        :func:`pokeviz.plots.page.write_html`). Pure and deterministic.
    """
    traces: list[dict[str, Any]] = []
    n = len(data.panels)
    gap = 0.08
    width = (1 - gap * (n - 1)) / n
    layout: dict[str, Any] = {
        "font": FONT, "template": "none",
        "height": PANEL_HEIGHT_PX + 250 + 14 * len(data.notes),
        "margin": {"t": 170, "l": 70, "r": 30, "b": 80 + 14 * len(data.notes)},
        "hovermode": "x unified",
        # The legend sits between the title and the panels; notes go below the x axis.
        "legend": {"orientation": "h", "x": 0, "y": 1.05, "yanchor": "bottom"},
        "annotations": [title_block([data.title], 170)],
    }
    shown: set[str] = set()
    for i, panel in enumerate(data.panels, start=1):
        x0 = (i - 1) * (width + gap)
        layout[axis_name("x", i)] = axis_style(
            domain=[round(x0, 6), round(x0 + width, 6)], anchor=axis_ref("y", i),
            title={"text": "global training step"},
            **({"range": list(data.step_range)} if data.step_range else {}))
        layout[axis_name("y", i)] = axis_style(
            anchor=axis_ref("x", i), title={"text": panel.ylabel},
            **({"range": list(panel.ylim)} if panel.ylim else {}))
        layout["annotations"].append(panel_title(panel.title, x0, 1.0))
        axes = {"xaxis": axis_ref("x", i), "yaxis": axis_ref("y", i)}
        for series in panel.variants.values():
            group = {"legendgroup": series.variant, **axes}
            first = series.variant not in shown
            shown.add(series.variant)
            if series.low is not None and len(series.grid):
                traces.append({"type": "scatter", "mode": "lines", "x": series.grid,
                               "y": series.high, "line": {"width": 0}, "hoverinfo": "skip",
                               "showlegend": False, "name": f"{series.variant} band", **group})
                traces.append({"type": "scatter", "mode": "lines", "x": series.grid,
                               "y": series.low, "line": {"width": 0}, "fill": "tonexty",
                               "fillcolor": rgba(series.color, 0.18), "hoverinfo": "skip",
                               "showlegend": False, "name": f"{series.variant} band", **group})
            traces.append({"type": "scatter", "mode": "lines+markers" if len(series.grid) == 1
                           else "lines", "x": series.grid, "y": series.mean,
                           "line": {"color": series.color, "width": 2.5},
                           "name": series.label, "showlegend": first, **group})
            for j, run in enumerate(series.runs if series.n_runs > 1 else []):
                traces.append({"type": "scatter", "mode": "lines", "x": run.steps,
                               "y": run.values, "visible": "legendonly",
                               "line": {"color": series.color, "width": 0.8},
                               "opacity": 0.6, "showlegend": first and j == 0,
                               "legendgroup": f"{series.variant} runs",
                               "name": (f"{series.variant}: single runs" if j == 0 else
                                        f"{series.variant}/{run.run.timestamp}"), **axes})
    for k, note in enumerate(data.notes):
        layout["annotations"].append(
            {"text": html.escape(note), "x": 0, "y": 0, "xref": "paper", "yref": "paper",
             "xanchor": "left", "yanchor": "top", "yshift": -55 - 14 * k,
             "showarrow": False, "font": {"size": 10, "color": "#595959"}})
    return {"data": traces, "layout": layout}
