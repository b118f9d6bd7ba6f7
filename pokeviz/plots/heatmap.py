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
from .layout import Box, place, skip_label_placement
from .style import FIGURE_WIDTH_IN, new_figure

if TYPE_CHECKING:
    import duckdb
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap, Normalize
    from matplotlib.figure import Figure

#: Maps named on the global map (the most visited first; names that do not fit are
#: listed in a note).
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

    def header_lines(self, title: str) -> list[str]:
        """The heatmap's title lines (static and interactive): the run, the totals, and
        where maps without global coordinates are drawn."""
        lines = [title, f"{self.total_visits:,} visits on {self.unique_tiles:,} tiles "
                        "(every entry)"]
        if self.table_path is None:
            lines.append("no map table: each map in its own local coordinates")
        elif self.unplaced:
            lines.append(f"{self.placed_visits:,} placed on the Kanto map; "
                         f"{self.unplaced_visits:,} on {len(self.unplaced)} maps the table "
                         "lacks (own panels, local coordinates)")
        return lines

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


def _colours(visits: np.ndarray, cmap: Colormap, norm: Normalize) -> np.ndarray:
    """RGBA bytes of every tile (unvisited: the colour map's grey 'bad' colour).

    Coloured per tile, before drawing: matplotlib would otherwise apply the log scale
    to every pixel of the resampled image (millions at 300 dpi), for the same pixels.
    """
    return cmap(norm(np.ma.masked_equal(visits, 0)), bytes=True)


def _show(ax: Axes, visits: np.ndarray, x0: int, y0: int, cmap: Colormap,
          norm: Normalize) -> object:
    """One image of visits (unvisited tiles in the colour map's grey 'bad' colour)."""
    h, w = visits.shape
    ax.grid(False)
    return ax.imshow(_colours(visits, cmap, norm), origin="upper", interpolation="nearest",
                     aspect="auto", extent=(x0 - 0.5, x0 + w - 0.5, y0 + h - 0.5, y0 - 0.5))


def _label_maps(fig: Figure, ax: Axes, data: HeatmapData) -> list[str]:
    """Name the most visited maps at their centre; a name whose box would overlap a
    name already placed, or leave the map's axes, is skipped.

    Returns:
        The names skipped, most visited first (said in a note under the map).
    """
    import matplotlib.patheffects as pe

    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    taken: list[object] = []
    skipped = []
    for name, _map_id, _visits, cx, cy in data.labels:
        text = ax.text(cx, cy, name, ha="center", va="center", fontsize=6.5, color="black",
                       clip_on=True,
                       path_effects=[pe.withStroke(linewidth=2.2, foreground="white")])
        box = text.get_window_extent(renderer).expanded(1.05, 1.15)
        within = (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0
                  and box.y1 <= inside.y1)
        if not within or any(box.overlaps(other) for other in taken):
            text.remove()
            skipped.append(name)
            continue
        taken.append(box)
    return skipped


def _fit(box_w: float, box_h: float, tiles_w: float, tiles_h: float) -> tuple[float, float]:
    """The largest (width, height) in inches inside a box with square tiles."""
    if tiles_h / tiles_w > box_h / box_w:
        return box_h * tiles_w / tiles_h, box_h
    return box_w, box_w * tiles_h / tiles_w


#: Fixed layout in inches: title lines, the colour-bar strip, the global map's margins,
#: the per-map panel grid (a cell holds a two-line title, the axes and tick labels).
_LINE_IN = 0.2
_BAR_STRIP_IN, _BAR_WIDTH_IN = 0.95, 0.12
_MAP_LEFT_IN, _MAP_TITLE_IN, _MAP_BELOW_IN, _NOTE_IN = 0.6, 0.24, 0.45, 0.17
_CELL_TITLE_IN, _CELL_AXES_IN, _CELL_TICKS_IN, _CELL_GAP_IN = 0.3, 0.82, 0.17, 0.12
_CELL_LEFT_IN = 0.1
#: The shortest colour bar: its two-line label at 8.5 pt fits beside it.
_BAR_MIN_IN = 1.25
#: A panel's shown extent is at most this many times longer than wide (or wide than
#: long): a map seen as a thin strip is drawn with empty space around it, not crushed.
MAX_PANEL_ASPECT = 3.0


def _span(name: str, lo: int, n: int) -> str:
    """``x 0–59`` (first and last local coordinate of ``n`` tiles), ``x 0`` for one."""
    return f"{name} {lo}" if n == 1 else f"{name} {lo}\u2013{lo + n - 1}"


def _draw_panels(fig: Figure, panels: list[LocalMap], area: Box, n_cols: int,
                 cmap: Colormap, norm: Normalize) -> None:
    """Every per-map panel in ONE axes without ticks, laid out in inches.

    A panel is its map's image (square tiles, top-left aligned) inside a frame whose
    sides are at most :data:`MAX_PANEL_ASPECT` apart, a two-line title above it (map id,
    visits) and the local coordinates it spans below it. One axes for all panels:
    an axes with ticks costs matplotlib ~40 ms to build and draw, 20 of them most of
    the figure's time; texts and images in one tickless axes cost a fraction of that.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    ax = place(fig, area)
    ax.set_axis_off()
    cell_w = area.width / n_cols
    cell_h = _CELL_TITLE_IN + _CELL_AXES_IN + _CELL_TICKS_IN + _CELL_GAP_IN
    frames = []
    for i, local in enumerate(panels):
        row, col = divmod(i, n_cols)
        left, top = col * cell_w + _CELL_LEFT_IN, row * cell_h + _CELL_TITLE_IN
        h, w = local.visits.shape
        # Square tiles; a thin map gets room around it rather than a crushed strip.
        shown_w = max(w, h / MAX_PANEL_ASPECT)
        shown_h = max(h, w / MAX_PANEL_ASPECT)
        box_w, box_h = _fit(cell_w - _CELL_LEFT_IN - 0.12, _CELL_AXES_IN, shown_w, shown_h)
        tile = box_w / shown_w
        # Axes data coordinates are inches from the area's top left (y downward).
        ax.imshow(_colours(local.visits, cmap, norm),
                          origin="upper", interpolation="nearest", aspect="auto",
                          extent=(left, left + w * tile, top + h * tile, top))
        frames.append(Rectangle((left, top), box_w, box_h))
        ax.text(left, top - 0.04, f"map {local.map_id}\n{local.total:,} visits", fontsize=7,
                ha="left", va="bottom", linespacing=1.15)
        ax.text(left, top + box_h + 0.04,
                f"{_span('x', local.x0, w)} \u00b7 {_span('y', local.y0, h)}",
                fontsize=6, ha="left", va="top", color=".35")
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor=".8",
                                      linewidth=0.8))
    ax.set_xlim(0, area.width)
    ax.set_ylim(area.height, 0)


def _minor_marks(ax: Axes, norm: Normalize, *, majors: tuple[int, ...],
                 width_in: float) -> None:
    """Unlabelled minor marks of a log colour bar (2-9 of each decade), as ONE collection.

    They look like matplotlib's minor ticks, but matplotlib builds every tick as a few
    artists (a tick line on each side, a label, a grid line): some 25 of them cost more
    to create and draw than the rest of the bar.
    """
    import matplotlib
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import blended_transform_factory

    vmin, vmax = float(norm.vmin), float(norm.vmax)
    values = [m * 10.0**e for e in range(int(np.floor(np.log10(vmin))),
                                         int(np.ceil(np.log10(vmax))) + 1)
              for m in range(2, 10) if m not in majors]
    values = [v for v in values if vmin < v < vmax]
    length = matplotlib.rcParams["ytick.minor.size"] / 72 / width_in  # axes fraction
    ax.add_collection(LineCollection(
        [[(1.0, v), (1.0 + length, v)] for v in values], colors=matplotlib.rcParams["ytick.color"],
        linewidths=matplotlib.rcParams["ytick.minor.width"], clip_on=False,
        transform=blended_transform_factory(ax.transAxes, ax.transData)), autolim=False)


def heatmap_figure(data: HeatmapData, *, title: str) -> Figure:
    """Draw the heatmap figure.

    Layout (fixed, in inches, from the map's aspect and the number of panels): the
    global map (cropped to the visited maps plus a margin, outlines of the visited maps
    from the table, the most visited maps named where the names fit, the others listed
    in a note) on top; below it one panel per map without global coordinates, in local
    coordinates, with square tiles, titled with the map id and its visits on two lines.
    All share one logarithmic colour scale, whose bar has its own strip on the right;
    unvisited tiles are grey.

    Args:
        data: from :func:`heatmap_data`.
        title: first title line (variant and run).

    Returns:
        A matplotlib Figure (Agg canvas) with its final layout; call inside
        :func:`pokeviz.plots.style.theme`. Deterministic.
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, LogNorm
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    base = matplotlib.colormaps[COLORMAP]
    cmap = ListedColormap(
        base(np.linspace(COLORMAP_START, 1.0, 256)), name="pokeviz_visits"
    ).with_extremes(bad=EMPTY_COLOR)
    peak = max([int(data.grid.max()) if data.grid is not None and data.grid.size else 0]
               + [int(m.visits.max()) for m in data.unplaced])
    norm = LogNorm(vmin=1, vmax=max(peak, 2))
    has_global = data.grid is not None and data.placed_visits > 0
    panels = data.unplaced[:MAX_PANELS]
    rest = data.unplaced[len(panels):]
    n_cols = min(PANEL_COLUMNS, max(1, len(panels)))
    n_rows = -(-len(panels) // n_cols) if panels else 0

    lines = data.header_lines(title)
    content_w = FIGURE_WIDTH_IN - _BAR_STRIP_IN
    y = 0.1 + _LINE_IN * len(lines) + 0.1
    map_w = map_h = 0.0
    if has_global:
        left, right, top, bottom = view_box(data)
        map_w, map_h = _fit(min(MAP_WIDTH_IN, content_w - _MAP_LEFT_IN), 7.0,
                            right - left + 1, bottom - top + 1)
    cell_h = _CELL_TITLE_IN + _CELL_AXES_IN + _CELL_TICKS_IN + _CELL_GAP_IN
    panels_h = n_rows * cell_h
    if not has_global and panels:
        # Room for a colour bar long enough for its label.
        panels_h = max(panels_h, _CELL_TITLE_IN + _BAR_MIN_IN + 0.1)
    height = (y + (_MAP_TITLE_IN + map_h + _MAP_BELOW_IN + _NOTE_IN if has_global else 0)
              + panels_h + (0.35 if rest else 0.05))
    if not has_global and not panels:
        height = 2.6
    fig = new_figure(FIGURE_WIDTH_IN, round(height, 2))
    fig.suptitle("\n".join(lines), fontsize=10, y=1 - 0.1 / fig.get_figheight(), va="top")
    if not has_global and not panels:
        ax = place(fig, Box(0, y, FIGURE_WIDTH_IN, max(0.5, 2.6 - y)))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no positions in these logs", ha="center", va="center",
                transform=ax.transAxes)
        return fig

    bar_box: Box | None = None
    if has_global:
        assert data.grid is not None
        ax = place(fig, Box(_MAP_LEFT_IN, y + _MAP_TITLE_IN, map_w, map_h))
        _show(ax, data.grid, data.origin[0], data.origin[1], cmap, norm)
        for r in data.visited_regions:
            ax.add_patch(Rectangle((r.gx0 - 0.5, r.gy0 - 0.5), r.width, r.height, fill=False,
                                   edgecolor=".45", linewidth=0.4))
        ax.set_xlim(left - 0.5, right + 0.5)
        ax.set_ylim(bottom + 0.5, top - 0.5)
        ax.set_xlabel("global x (tile)")
        ax.set_ylabel("global y (tile, downward)")
        ax.tick_params(labelsize=7.5)
        name = data.table_path.name if data.table_path else "map table"
        ax.set_title(f"Kanto map ({name})", loc="left", fontsize=9, pad=4, y=1.0)
        bar_box = Box(_MAP_LEFT_IN + map_w + 0.15, y + _MAP_TITLE_IN, _BAR_WIDTH_IN,
                      min(map_h, 4.0))
        skipped = _label_maps(fig, ax, data)
        if skipped:
            fig.text(_MAP_LEFT_IN / FIGURE_WIDTH_IN,
                     1 - (y + _MAP_TITLE_IN + map_h + _MAP_BELOW_IN) / height,
                     "not named on the map (no room): " + ", ".join(skipped),
                     ha="left", va="top", fontsize=7, color=".35")
        y += _MAP_TITLE_IN + map_h + _MAP_BELOW_IN + _NOTE_IN
    if panels:
        _draw_panels(fig, panels, Box(0, y, content_w, n_rows * cell_h), n_cols,
                             cmap, norm)
        if bar_box is None:
            bar_box = Box(content_w + 0.15, y + _CELL_TITLE_IN, _BAR_WIDTH_IN,
                          min(4.0, max(_BAR_MIN_IN, n_rows * cell_h - _CELL_TITLE_IN
                                       - _CELL_TICKS_IN - _CELL_GAP_IN)))
    if rest:
        import textwrap

        note = (f"{len(rest)} more maps without coordinates not drawn: "
                f"{sum(m.total for m in rest):,} visits on maps "
                + ", ".join(str(m.map_id) for m in rest))
        fig.text(0.5, 0.05 / height, "\n".join(textwrap.wrap(note, 120)), ha="center",
                 va="bottom", fontsize=7, color=".35")
    assert bar_box is not None
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=place(fig, bar_box))
    # A short bar (a small map) gets its label on two lines, so it stays beside the bar.
    short = bar_box.height < 2.3
    bar.set_label("visits per tile\n(log scale)" if short else "visits per tile (log scale)",
                  fontsize=8.5 if short else None)
    bar.ax.tick_params(labelsize=7.5)
    # Labels at 1, 10, 100, ...; within less than a decade also at 2 and 5. Minor ticks
    # stay unlabelled (their scientific labels would be wide).
    few = norm.vmax < 10
    bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if few else (1.0,)))
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    bar.ax.yaxis.set_minor_locator(NullLocator())
    _minor_marks(bar.ax, norm, majors=(1, 2, 5) if few else (1,), width_in=bar_box.width)
    skip_label_placement(bar.ax, y=False)
    return fig
