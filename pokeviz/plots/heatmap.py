"""The heatmap figure: exact visits per tile on the global Kanto map.

Visits come from the ``positions`` view (every entry of every file, not a sample).
Tile ``(x, y)`` of a map the table knows goes to global column ``x + gx0`` and row
``y + gy0`` (rows grow downward). A map the table lacks, or every map when there is no
table, gets its own panel in local coordinates: different maps are never merged into
one plane, and every visit is drawn somewhere or counted in a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..kanto import MapRegion, MapTable
from .style import FIGURE_WIDTH_IN, freeze_layout, new_figure

if TYPE_CHECKING:
    import duckdb
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap, Normalize
    from matplotlib.figure import Figure

#: Maps named on the global map (the most visited first; overlapping labels are skipped).
LABELLED_MAPS = 8
#: Panels of maps without global coordinates drawn at most; the rest are named in a note.
MAX_PANELS = 30
#: Panels per row.
PANEL_COLUMNS = 5
#: Tiles of context around the visited maps on the global map.
MARGIN_TILES = 6
#: Reversed magma without its palest eighth, so a tile visited once stands out from the
#: grey of unvisited tiles.
COLORMAP = "magma_r"
COLORMAP_START = 0.12
EMPTY_COLOR = "#eef0f2"
#: Width in inches the global map gets (figure width minus labels and colour bar).
MAP_WIDTH_IN = 5.25


@dataclass
class LocalMap:
    """Visits of one map drawn in its own local coordinates.

    ``visits[row, col]`` counts tile ``(x0 + col, y0 + row)``; ``(x0, y0)`` is the local
    origin ``(0, 0)`` unless a coordinate below 0 was seen.
    """

    map_id: int
    visits: np.ndarray
    x0: int
    y0: int

    @property
    def total(self) -> int:
        """All visits on this map."""
        return int(self.visits.sum())


@dataclass
class HeatmapData:
    """Everything the heatmap shows, as numbers.

    Attributes:
        grid: visits per global tile (int64), ``grid[row, col]`` is global
            ``(origin[0] + col, origin[1] + row)``; covers the whole region (and any
            placed tile outside it). None without a map table.
        origin: global (column, row) of ``grid[0, 0]``; (0, 0) unless a tile fell left
            of or above the region.
        placed_visits, placed_tiles: visits and tiles on the global map.
        unplaced: maps without global coordinates, most visited first.
        total_visits, unique_tiles: everything in ``positions``.
        labels: ``(name, map_id, visits, centre column, centre row)`` of the most
            visited placed maps, most visited first.
        visited_regions: table entries of the maps with visits (drawn as outlines).
        table_path: the map table used (None: no table).
    """

    grid: np.ndarray | None
    origin: tuple[int, int]
    placed_visits: int
    placed_tiles: int
    total_visits: int
    unique_tiles: int
    unplaced: list[LocalMap] = field(default_factory=list)
    labels: list[tuple[str, int, int, float, float]] = field(default_factory=list)
    visited_regions: list[MapRegion] = field(default_factory=list)
    table_path: Path | None = None

    @property
    def unplaced_visits(self) -> int:
        """Visits on maps without global coordinates."""
        return sum(m.total for m in self.unplaced)

    @property
    def unplaced_map_ids(self) -> list[int]:
        """Ids of the maps without global coordinates, most visited first."""
        return [m.map_id for m in self.unplaced]

    def visits_at(self, global_x: int, global_y: int) -> int:
        """Visits of one global tile (0 outside the grid or without a table)."""
        if self.grid is None:
            return 0
        col, row = global_x - self.origin[0], global_y - self.origin[1]
        if 0 <= row < self.grid.shape[0] and 0 <= col < self.grid.shape[1]:
            return int(self.grid[row, col])
        return 0


def heatmap_data(con: duckdb.DuckDBPyConnection, table: MapTable | None) -> HeatmapData:
    """Place every visited tile of a run: on the global map, or in a per-map panel.

    Args:
        con: a connection from :func:`pokeviz.query.connect`.
        table: the map table, or None (every map gets a panel).

    Returns:
        The :class:`HeatmapData`; ``placed_visits + unplaced_visits == total_visits``.
        Exact and deterministic. Cost: one pass over ``positions`` (distinct tiles);
        memory: the region grid (~1.5 MB for Kanto) plus one small array per unplaced map.
    """
    columns = con.execute("SELECT map, x, y, visits FROM positions ORDER BY map, x, y")
    rows = columns.fetchnumpy()
    maps = np.asarray(np.ma.getdata(rows["map"]), dtype=np.int64)
    xs = np.asarray(np.ma.getdata(rows["x"]), dtype=np.int64)
    ys = np.asarray(np.ma.getdata(rows["y"]), dtype=np.int64)
    visits = np.asarray(np.ma.getdata(rows["visits"]), dtype=np.int64)
    total = int(visits.sum())
    if table is not None:
        gx, gy, placed = table.to_global(maps, xs, ys)
    else:
        gx = gy = np.zeros(len(maps), dtype=np.int64)
        placed = np.zeros(len(maps), dtype=bool)

    grid = None
    origin = (0, 0)
    labels: list[tuple[str, int, int, float, float]] = []
    regions: list[MapRegion] = []
    if table is not None:
        width, height = table.region_size
        left = min(0, int(gx[placed].min())) if placed.any() else 0
        top = min(0, int(gy[placed].min())) if placed.any() else 0
        right = max(width, int(gx[placed].max()) + 1) if placed.any() else width
        bottom = max(height, int(gy[placed].max()) + 1) if placed.any() else height
        origin = (left, top)
        grid = np.zeros((bottom - top, right - left), dtype=np.int64)
        np.add.at(grid, (gy[placed] - top, gx[placed] - left), visits[placed])
        per_map: dict[int, int] = {}
        for m, v in zip(maps[placed].tolist(), visits[placed].tolist(), strict=True):
            per_map[m] = per_map.get(m, 0) + v
        ranked = sorted(per_map.items(), key=lambda kv: (-kv[1], kv[0]))
        regions = [table.maps[m] for m in sorted(per_map)]
        for m, v in ranked[:LABELLED_MAPS]:
            r = table.maps[m]
            labels.append((r.name, m, v, r.gx0 + (r.width - 1) / 2, r.gy0 + (r.height - 1) / 2))

    unplaced: list[LocalMap] = []
    loose = ~placed
    for m in np.unique(maps[loose]).tolist():
        mine = loose & (maps == m)
        # From the map's local origin (or the lowest coordinate seen, if negative), so
        # the panel shows where on the map the visits were.
        x0, y0 = min(0, int(xs[mine].min())), min(0, int(ys[mine].min()))
        local = np.zeros((int(ys[mine].max()) - y0 + 1, int(xs[mine].max()) - x0 + 1),
                         dtype=np.int64)
        np.add.at(local, (ys[mine] - y0, xs[mine] - x0), visits[mine])
        unplaced.append(LocalMap(map_id=int(m), visits=local, x0=x0, y0=y0))
    unplaced.sort(key=lambda lm: (-lm.total, lm.map_id))
    return HeatmapData(
        grid=grid,
        origin=origin,
        placed_visits=int(visits[placed].sum()),
        placed_tiles=int(placed.sum()),
        total_visits=total,
        unique_tiles=len(maps),
        unplaced=unplaced,
        labels=labels,
        visited_regions=regions,
        table_path=table.path if table is not None else None,
    )


def view_box(data: HeatmapData) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) global tiles shown: visited maps plus a margin."""
    assert data.grid is not None
    rows, cols = np.nonzero(data.grid)
    left, top = data.origin
    lo_x = [int(cols.min()) + left] if len(cols) else []
    hi_x = [int(cols.max()) + left] if len(cols) else []
    lo_y = [int(rows.min()) + top] if len(rows) else []
    hi_y = [int(rows.max()) + top] if len(rows) else []
    for r in data.visited_regions:
        lo_x.append(r.gx0)
        hi_x.append(r.gx0 + r.width - 1)
        lo_y.append(r.gy0)
        hi_y.append(r.gy0 + r.height - 1)
    height, width = data.grid.shape
    return (
        max(left, min(lo_x) - MARGIN_TILES),
        min(left + width - 1, max(hi_x) + MARGIN_TILES),
        max(top, min(lo_y) - MARGIN_TILES),
        min(top + height - 1, max(hi_y) + MARGIN_TILES),
    )


def _show(ax: Axes, visits: np.ndarray, x0: int, y0: int, cmap: Colormap,
          norm: Normalize) -> object:
    shown = np.ma.masked_equal(visits, 0)
    h, w = visits.shape
    ax.set_facecolor(EMPTY_COLOR)
    ax.grid(False)
    return ax.imshow(shown, cmap=cmap, norm=norm, origin="upper", interpolation="nearest",
                     extent=(x0 - 0.5, x0 + w - 0.5, y0 + h - 0.5, y0 - 0.5))


def _label_maps(fig: Figure, ax: Axes, data: HeatmapData) -> None:
    """Name the most visited maps at their centre, skipping labels that would overlap."""
    import matplotlib.patheffects as pe

    renderer = fig.canvas.get_renderer()
    taken = []
    for name, _map_id, _visits, cx, cy in data.labels:
        text = ax.text(cx, cy, name, ha="center", va="center", fontsize=6.5, color="black",
                       clip_on=True,
                       path_effects=[pe.withStroke(linewidth=2.2, foreground="white")])
        text.set_in_layout(False)
        box = text.get_window_extent(renderer).expanded(1.05, 1.15)
        inside = ax.get_window_extent(renderer)
        if any(box.overlaps(other) for other in taken) or not inside.contains(
            box.x0 + box.width / 2, box.y0 + box.height / 2
        ):
            text.remove()
            continue
        taken.append(box)


def heatmap_figure(data: HeatmapData, *, title: str) -> Figure:
    """Draw the heatmap figure.

    Layout: the global map (cropped to the visited maps plus a margin, outlines of the
    visited maps from the table, the most visited maps named) on top; below it one
    labelled panel per map without global coordinates, in local coordinates. All
    panels share one logarithmic colour scale and colour bar; unvisited tiles are grey.

    Args:
        data: from :func:`heatmap_data`.
        title: first title line (variant and run).

    Returns:
        A matplotlib Figure (Agg canvas), laid out and frozen
        (:func:`pokeviz.plots.style.freeze_layout`); call inside
        :func:`pokeviz.plots.style.theme`. Deterministic.
    """
    import matplotlib
    from matplotlib.colors import ListedColormap, LogNorm
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    base = matplotlib.colormaps[COLORMAP]
    cmap = ListedColormap(
        base(np.linspace(COLORMAP_START, 1.0, 256)), name="pokeviz_visits"
    ).with_extremes(bad=EMPTY_COLOR)
    peak = max([int(data.grid.max()) if data.grid is not None and data.grid.size else 0]
               + [int(m.visits.max()) for m in data.unplaced])
    norm = LogNorm(vmin=1, vmax=max(peak, 2))
    has_global = data.grid is not None and data.placed_visits > 0
    panels = data.unplaced[:MAX_PANELS]
    n_cols = min(PANEL_COLUMNS, max(1, len(panels)))
    n_rows = -(-len(panels) // n_cols) if panels else 0
    main_height = 0.0
    if has_global:
        left, right, top, bottom = view_box(data)
        aspect = (bottom - top + 1) / (right - left + 1)
        main_height = min(7.0, max(1.3, MAP_WIDTH_IN * aspect + 0.45))
    height = 0.55 + main_height + 1.7 * n_rows + 0.1
    fig = new_figure(FIGURE_WIDTH_IN, max(height, 2.6), layout="constrained")

    lines = [title, f"{data.total_visits:,} visits on {data.unique_tiles:,} tiles (every entry)"]
    if data.table_path is None:
        lines.append("no map table: each map in its own local coordinates")
    elif data.unplaced:
        lines.append(f"{data.placed_visits:,} placed on the Kanto map; "
                     f"{data.unplaced_visits:,} on {len(data.unplaced)} maps the table lacks "
                     "(own panels)")
    fig.suptitle("\n".join(lines), fontsize=10)

    ratios = ([main_height] if has_global else []) + [1.7] * n_rows
    image = None
    if not ratios:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no positions in these logs", ha="center", va="center",
                transform=ax.transAxes)
        return freeze_layout(fig)
    grid = fig.add_gridspec(len(ratios), n_cols, height_ratios=ratios)
    axes = []
    row = 0
    if has_global:
        assert data.grid is not None
        ax = fig.add_subplot(grid[0, :])
        image = _show(ax, data.grid, data.origin[0], data.origin[1], cmap, norm)
        for r in data.visited_regions:
            ax.add_patch(Rectangle((r.gx0 - 0.5, r.gy0 - 0.5), r.width, r.height, fill=False,
                                   edgecolor=".45", linewidth=0.4))
        ax.set_xlim(left - 0.5, right + 0.5)
        ax.set_ylim(bottom + 0.5, top - 0.5)
        ax.set_aspect("equal")
        ax.set_xlabel("global x (tile)")
        ax.set_ylabel("global y (tile, downward)")
        ax.tick_params(labelsize=7.5)
        name = data.table_path.name if data.table_path else "map table"
        ax.set_title(f"Kanto map ({name})", loc="left", fontsize=9)
        axes.append(ax)
        row = 1
    for i, local in enumerate(panels):
        ax = fig.add_subplot(grid[row + i // n_cols, i % n_cols])
        shown = _show(ax, local.visits, local.x0, local.y0, cmap, norm)
        image = image or shown
        ax.set_aspect("equal")
        lacking = " (not in table)" if data.table_path is not None else ""
        ax.set_title(f"map {local.map_id}{lacking} · {local.total:,} visits", fontsize=7.5,
                     loc="left")
        ax.tick_params(labelsize=6)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        axes.append(ax)
    if len(data.unplaced) > len(panels):
        rest = data.unplaced[len(panels):]
        fig.supxlabel(
            f"{len(rest)} more maps without coordinates not drawn: "
            f"{sum(m.total for m in rest):,} visits on maps "
            + ", ".join(str(m.map_id) for m in rest),
            fontsize=7, color=".35",
        )
    bar = fig.colorbar(image, ax=axes, shrink=0.6 if has_global else 0.9, pad=0.01)
    bar.set_label("visits per tile (log scale)")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    if has_global:
        # Labels need the final layout to test for overlaps; they are kept out of the
        # layout, so freezing it afterwards changes nothing.
        fig.draw_without_rendering()
        _label_maps(fig, axes[0], data)
    return freeze_layout(fig)
