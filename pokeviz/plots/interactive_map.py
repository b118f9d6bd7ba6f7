"""The heatmap's interactive twin: visits per tile as a Plotly figure dict.

Drawn from :class:`~pokeviz.plots.heatmap.HeatmapData` (the static heatmap's data):
the global Kanto map cropped as in the static figure, per-map panels in local
coordinates for maps without global coordinates, one log colour scale. Hover shows map
name, local and global tile, and the exact visits. Deterministic.
"""

from __future__ import annotations

import html
import math
from functools import lru_cache
from typing import Any

import numpy as np

from .heatmap import (
    COLORMAP,
    COLORMAP_START,
    EMPTY_COLOR,
    LABELLED_MAPS,
    MAX_PANELS,
    PANEL_COLUMNS,
    HeatmapData,
    LocalMap,
    view_box,
)
from .page import FONT, axis_name, axis_ref, axis_style, empty_figure, panel_title, title_block

__all__ = ["colorscale", "heatmap_traces"]

#: Pixel sizes of the heatmap page: global map width, one panel, the gap between rows.
_MAP_WIDTH_PX, _PANEL_PX, _PANEL_GAP_PX = 900, 220, 70
#: Digits kept of log10(visits), the colour value (hover shows the exact count).
_Z_DIGITS = 4


@lru_cache(maxsize=1)
def colorscale() -> tuple[tuple[float, str], ...]:
    """The static heatmap's colour map (reversed magma without its palest part),
    sampled at 11 stops as a Plotly colour scale."""
    import matplotlib

    base = matplotlib.colormaps[COLORMAP]
    stops = []
    for i in range(11):
        r, g, b, _ = base(COLORMAP_START + (1 - COLORMAP_START) * i / 10)
        stops.append((round(i / 10, 2),
                      f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"))
    return tuple(stops)


def _log_z(visits: np.ndarray) -> np.ndarray:
    """log10(visits), NaN where a tile was never visited (drawn as background)."""
    z = np.full(visits.shape, np.nan)
    seen = visits > 0
    z[seen] = np.round(np.log10(visits[seen]), _Z_DIGITS)
    return z


def _coloraxis(peak: int) -> dict[str, Any]:
    top = math.log10(max(peak, 2))
    ticks = [t for t in range(int(top) + 1)]
    return {
        "colorscale": [list(s) for s in colorscale()], "cmin": 0.0, "cmax": round(top, 6),
        "colorbar": {"title": {"text": "visits per tile<br>(log scale)", "side": "right"},
                     "tickvals": ticks, "ticktext": [f"{10 ** t:,}" for t in ticks],
                     "len": 0.8, "thickness": 14},
    }


def _global_hover(data: HeatmapData, box: tuple[int, int, int, int]) -> list[list[str]]:
    """Per cell of the view box: map name(s), local and global tile, visits ('' if 0)."""
    assert data.grid is not None
    left, right, top, bottom = box
    ox, oy = data.origin
    view = data.grid[top - oy:bottom - oy + 1, left - ox:right - ox + 1]
    names: dict[tuple[int, int], list[str]] = {}
    for region in data.visited_regions:
        r0, r1 = max(region.gy0, top), min(region.gy0 + region.height - 1, bottom)
        c0, c1 = max(region.gx0, left), min(region.gx0 + region.width - 1, right)
        if r0 > r1 or c0 > c1:
            continue
        rows, cols = np.nonzero(view[r0 - top:r1 - top + 1, c0 - left:c1 - left + 1])
        for r, c in zip((rows + r0).tolist(), (cols + c0).tolist(), strict=True):
            names.setdefault((r, c), []).append(
                f"{html.escape(region.name)} (map {region.map_id}), "
                f"local ({c - region.gx0}, {r - region.gy0})")
    text = [[""] * view.shape[1] for _ in range(view.shape[0])]
    rows, cols = np.nonzero(view)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        gx, gy = c + left, r + top
        where = "<br>".join(names.get((gy, gx), ["map not known at this tile"]))
        text[r][c] = f"{where}<br>global ({gx}, {gy})<br>{int(view[r, c]):,} visits"
    return text


def _labels(data: HeatmapData, box: tuple[int, int, int, int],
            width_px: float) -> list[dict[str, Any]]:
    """Annotations naming the most visited maps; one that would overlap a label
    already placed (estimated text box at 11 px) is left out."""
    left, right, top, bottom = box
    px_per_tile = width_px / (right - left + 1)
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for name, _map_id, _visits, cx, cy in data.labels[:LABELLED_MAPS]:
        half_w, half_h = (len(name) * 6.5 + 6) / 2 / px_per_tile, 9 / px_per_tile
        box_ = (cx - half_w, cx + half_w, cy - half_h, cy + half_h)
        if any(not (b[1] < box_[0] or box_[1] < b[0] or b[3] < box_[2] or box_[3] < b[2])
               for b in placed):
            continue
        placed.append(box_)
        out.append({"text": html.escape(name), "x": cx, "y": cy, "xref": "x", "yref": "y",
                    "showarrow": False, "font": {"size": 11, "color": "black"},
                    "bgcolor": "rgba(255,255,255,0.6)"})
    return out


def _panel_trace(local: LocalMap, axis: int, placed_table: bool) -> dict[str, Any]:
    h, w = local.visits.shape
    text = [[""] * w for _ in range(h)]
    rows, cols = np.nonzero(local.visits)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        text[r][c] = (f"map {local.map_id}{' (not in table)' if placed_table else ''}<br>"
                      f"local ({c + local.x0}, {r + local.y0})<br>"
                      f"{int(local.visits[r, c]):,} visits")
    return {"type": "heatmap", "z": _log_z(local.visits),
            "x": list(range(local.x0, local.x0 + w)), "y": list(range(local.y0, local.y0 + h)),
            "text": text, "hovertemplate": "%{text}<extra></extra>", "hoverongaps": False,
            "coloraxis": "coloraxis", "xaxis": axis_ref("x", axis), "yaxis": axis_ref("y", axis),
            "name": f"map {local.map_id}"}


def heatmap_traces(data: HeatmapData, *, title: str = "") -> dict[str, Any]:
    """The heatmap figure as a Plotly figure dict.

    The same content as :func:`pokeviz.plots.heatmap.heatmap_figure`: the global Kanto
    map cropped to the visited maps (outlines of the visited maps, the most visited
    named), then one panel per map without global coordinates, in local coordinates,
    all on one log colour scale. Hovering a visited tile shows the map name and id, the
    local and global tile, and the exact visits; unvisited tiles are background.

    Args:
        data: from :func:`pokeviz.plots.heatmap.heatmap_data`.
        title: the first title line (variant and run).

    Returns:
        ``{"data": [...], "layout": {...}}``. Size: about 80 bytes per visited tile plus
        5 per cell of the cropped global map. Deterministic.
    """
    lines = data.header_lines(title or "visits per tile")
    has_global = data.grid is not None and data.placed_visits > 0
    panels = data.unplaced[:MAX_PANELS]
    if not has_global and not panels:
        return empty_figure(lines, "no positions in these logs")
    rest = data.unplaced[len(panels):]
    if rest:
        lines.append(f"{len(rest)} more maps without coordinates not drawn: "
                     f"{sum(m.total for m in rest):,} visits on maps "
                     + ", ".join(str(m.map_id) for m in rest))
    peak = max([int(data.grid.max()) if data.grid is not None and data.grid.size else 0]
               + [int(m.visits.max()) for m in data.unplaced])
    n_cols = min(PANEL_COLUMNS, max(1, len(panels)))
    n_rows = -(-len(panels) // n_cols) if panels else 0
    top_px = 30 + 20 * len(lines)
    main_px = 0
    if has_global:
        box = view_box(data)
        left, right, top, bottom = box
        aspect = (bottom - top + 1) / (right - left + 1)
        main_px = int(min(760, max(260, _MAP_WIDTH_PX * aspect)))
    # Below the title: a gap for a panel title, then each row of panels.
    rows = ([main_px] if has_global else []) + [_PANEL_PX] * n_rows
    inner = sum(rows) + _PANEL_GAP_PX * len(rows)
    height = top_px + inner + 50

    def ydomain(top_: float, size: float) -> list[float]:
        """Paper coordinates of a panel ``size`` px high, ``top_`` px below the area's top."""
        return [round(1 - (top_ + size) / inner, 6), round(1 - top_ / inner, 6)]

    traces: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "font": FONT, "height": height, "template": "none",
        "plot_bgcolor": EMPTY_COLOR, "paper_bgcolor": "white", "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": top_px, "b": 50},
        "coloraxis": _coloraxis(peak), "annotations": [title_block(lines, top_px)], "shapes": [],
    }
    axis = 1
    y_px = _PANEL_GAP_PX
    if has_global:
        assert data.grid is not None
        ox, oy = data.origin
        view = data.grid[top - oy:bottom - oy + 1, left - ox:right - ox + 1]
        traces.append({
            "type": "heatmap", "z": _log_z(view), "x": list(range(left, right + 1)),
            "y": list(range(top, bottom + 1)), "text": _global_hover(data, box),
            "hovertemplate": "%{text}<extra></extra>", "hoverongaps": False,
            "coloraxis": "coloraxis", "xaxis": "x", "yaxis": "y", "name": "Kanto map"})
        dom = ydomain(y_px, main_px)
        layout["xaxis"] = axis_style(domain=[0, 1], anchor="y", showgrid=False,
                                      range=[left - 0.5, right + 0.5], constrain="domain",
                                      title={"text": "global x (tile)"})
        layout["yaxis"] = axis_style(domain=dom, anchor="x", showgrid=False,
                                      range=[bottom + 0.5, top - 0.5], scaleanchor="x",
                                      scaleratio=1, constrain="domain",
                                      title={"text": "global y (tile, downward)"})
        for r in data.visited_regions:
            layout["shapes"].append(
                {"type": "rect", "xref": "x", "yref": "y", "x0": r.gx0 - 0.5,
                 "y0": r.gy0 - 0.5, "x1": r.gx0 + r.width - 0.5, "y1": r.gy0 + r.height - 0.5,
                 "line": {"color": "#737373", "width": 1}, "fillcolor": "rgba(0,0,0,0)"})
        name = data.table_path.name if data.table_path else "map table"
        layout["annotations"].append(panel_title(f"Kanto map ({name})", 0, dom[1]))
        layout["annotations"] += _labels(data, box, min(_MAP_WIDTH_PX, main_px / aspect))
        y_px += main_px + _PANEL_GAP_PX
        axis += 1
    gap = 0.04
    width = (1 - gap * (n_cols - 1)) / n_cols
    lacking = " (not in table)" if data.table_path is not None else ""
    for i, local in enumerate(panels):
        row, col = divmod(i, n_cols)
        x0 = col * (width + gap)
        dom = ydomain(y_px + row * (_PANEL_PX + _PANEL_GAP_PX), _PANEL_PX)
        traces.append(_panel_trace(local, axis, data.table_path is not None))
        h, w = local.visits.shape
        layout[axis_name("x", axis)] = axis_style(
            domain=[round(x0, 6), round(x0 + width, 6)], anchor=axis_ref("y", axis),
            showgrid=False, range=[local.x0 - 0.5, local.x0 + w - 0.5], constrain="domain",
            constraintoward="left", nticks=4, tickangle=0)
        layout[axis_name("y", axis)] = axis_style(
            domain=dom, anchor=axis_ref("x", axis), showgrid=False,
            range=[local.y0 + h - 0.5, local.y0 - 0.5], scaleanchor=axis_ref("x", axis),
            scaleratio=1, constrain="domain", constraintoward="top", nticks=4)
        # Two lines, so a title stays within its own panel's width.
        layout["annotations"].append(
            panel_title(f"<b>map {local.map_id}</b>{lacking}<br>{local.total:,} visits",
                         x0, dom[1], escape=False))
        axis += 1
    return {"data": traces, "layout": layout}
