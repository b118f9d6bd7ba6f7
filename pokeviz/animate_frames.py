"""The frames of the exploration time-lapse: one fixed matplotlib layout, redrawn per window.

A frame shows the run's visited area of the global Kanto map (the heatmap's crop), or
per-map panels in local coordinates for maps without global coordinates. Tiles visited
in the frame's window are drawn in the heatmap's colours (log scale, one scale for the
whole video); tiles visited earlier are a pale, faded blue; the rest stays grey or shows
the optional background picture. The text line says the global step, the cumulative
unique tiles and the window's mean total reward.

The layout is computed once (fixed positions, no layout engine) and only image data and
texts change between frames, so frames are cheap and the same window always gives the
same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import PokevizError
from .plots.heatmap import COLORMAP, COLORMAP_START, EMPTY_COLOR, HeatmapData, LocalMap, view_box
from .plots.style import format_steps, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Frame width in inches; with ``--dpi`` it gives the width in pixels (8 in × 100 dpi).
FRAME_WIDTH_IN = 8.0
#: The tallest the map may be, in inches (a tall crop gets narrower instead).
MAP_MAX_HEIGHT_IN = 6.0
#: Per-map panels drawn at most (the others still count in the tile total).
MAX_PANELS = 10
PANEL_COLUMNS = 5
PANEL_HEIGHT_IN = 1.55
#: Pixels per tile of a ``--background`` picture (the community's Kanto map images).
BACKGROUND_TILE_PX = 16
#: Tiles visited before the window: pale blue, fully opaque without a background and
#: semi-transparent over one.
FADED_RGB = (0.62, 0.72, 0.82)
FADED_ALPHA_OVER_BACKGROUND = 0.55
#: The background picture is blended this far towards white, so visits stand out.
BACKGROUND_WASH = 0.35
#: Maps named on the map (the most visited of the whole run).
LABELLED_MAPS = 6


def _even(pixels: float) -> int:
    """Round to an even pixel count (H.264 with 4:2:0 chroma needs even sizes)."""
    return max(2, 2 * round(pixels / 2))


def visits_colormap() -> Any:
    """The heatmap's colour map (reversed magma without its palest part)."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    base = matplotlib.colormaps[COLORMAP]
    return ListedColormap(base(np.linspace(COLORMAP_START, 1.0, 256)), name="pokeviz_visits")


def overlay(window: np.ndarray, seen: np.ndarray, cmap: Any, norm: Any,
            faded_alpha: float) -> np.ndarray:
    """The RGBA tiles of one frame: window visits in colour, earlier visits faded.

    Args:
        window: visits per tile in this window (int).
        seen: tiles visited before this window (bool), same shape.
        cmap, norm: the colour map and its (log) normalization.
        faded_alpha: opacity of the earlier visits.

    Returns:
        ``uint8`` array ``(rows, cols, 4)``; transparent where nothing was visited.
        Pure and deterministic.
    """
    rgba = np.zeros((*window.shape, 4), dtype=np.uint8)
    before = seen & (window == 0)
    rgba[before] = np.round(np.array([*FADED_RGB, faded_alpha]) * 255).astype(np.uint8)
    now = window > 0
    if now.any():
        rgba[now] = cmap(norm(window[now].astype(np.float64)), bytes=True)
        rgba[now, 3] = 255
    return rgba


def load_background(path: str | Path, box: tuple[int, int, int, int],
                    width_px: int | None = None) -> np.ndarray:
    """The part of a Kanto map picture under the global tiles ``box``, washed out.

    Args:
        path: an image Pillow reads; pixel ``(16·gx, 16·gy)`` is the top-left corner of
            global tile ``(gx, gy)``.
        box: ``(left, right, top, bottom)`` global tiles, inclusive.
        width_px: the frame width; the picture is reduced by a whole factor while it
            stays at least twice as wide (drawing a 4000-pixel crop into 700 pixels
            gains nothing).

    Returns:
        RGB ``uint8`` array of the box; parts outside the picture are the empty-tile
        grey. Cost: one decode of the picture, then work on the crop only.

    Raises:
        PokevizError: the file cannot be read as an image.
    """
    from PIL import Image, ImageColor, UnidentifiedImageError

    left, right, top, bottom = box
    size = BACKGROUND_TILE_PX
    x0, y0, x1, y1 = left * size, top * size, (right + 1) * size, (bottom + 1) * size
    canvas = Image.new("RGB", (x1 - x0, y1 - y0), ImageColor.getrgb(EMPTY_COLOR))
    try:
        with Image.open(path) as image:
            inner = (max(x0, 0), max(y0, 0), min(x1, image.width), min(y1, image.height))
            if inner[0] < inner[2] and inner[1] < inner[3]:
                # Only the shown part is converted (a whole Kanto picture is ~7000 px).
                canvas.paste(image.crop(inner).convert("RGB"), (inner[0] - x0, inner[1] - y0))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PokevizError(f"{path}: cannot read the background picture ({exc}); pass a "
                           "PNG or JPEG of the Kanto map at 16 px per tile") from exc
    if width_px:
        factor = max(1, canvas.width // (2 * width_px))
        if factor > 1:
            canvas = canvas.reduce(factor)
    washed = Image.blend(canvas, Image.new("RGB", canvas.size, "white"), BACKGROUND_WASH)
    return np.asarray(washed, dtype=np.uint8)


class FrameDrawer:
    """One figure laid out once; :meth:`draw` renders a window to RGB bytes.

    Args:
        heat: the whole run's heatmap data (the crop and the maps to show).
        title: the first text line (variant, run).
        dpi: pixels per inch; the frame is ``FRAME_WIDTH_IN × dpi`` pixels wide.
        vmax: the largest visits of one tile in one window (the colour scale's top).
        step_range: the run's (first, last) global step (the timeline's range).
        background: RGB array from :func:`load_background`, or None.

    Call inside :func:`pokeviz.plots.style.theme`. Memory: the figure and one frame.
    """

    def __init__(self, heat: HeatmapData, *, title: str, dpi: int, vmax: int,
                 step_range: tuple[int, int], background: np.ndarray | None = None) -> None:
        from matplotlib.colors import LogNorm

        self.heat = heat
        self.cmap = visits_colormap()
        self.norm = LogNorm(vmin=1, vmax=max(vmax, 2))
        self.dpi = dpi
        self.has_map = heat.grid is not None and heat.placed_visits > 0
        self.box = view_box(heat) if self.has_map else None
        self.panels: list[LocalMap] = heat.unplaced[:MAX_PANELS]
        self.faded_alpha = FADED_ALPHA_OVER_BACKGROUND if background is not None else 1.0

        width_in = FRAME_WIDTH_IN
        map_w_in = width_in - 0.75
        map_h_in = 0.0
        if self.box is not None:
            left, right, top, bottom = self.box
            aspect = (bottom - top + 1) / (right - left + 1)
            map_h_in = map_w_in * aspect
            if map_h_in > MAP_MAX_HEIGHT_IN:
                map_h_in, map_w_in = MAP_MAX_HEIGHT_IN, MAP_MAX_HEIGHT_IN / aspect
        n_rows = -(-len(self.panels) // PANEL_COLUMNS) if self.panels else 0
        head_in, foot_in = 0.8, 0.72
        body_in = map_h_in + (0.25 if map_h_in else 0) + PANEL_HEIGHT_IN * n_rows
        height_in = head_in + max(body_in, 1.0) + foot_in
        self.size = (_even(width_in * dpi), _even(height_in * dpi))
        # A hair over the pixel size, so Agg's int() of width × dpi is exactly the size.
        fig = new_figure((self.size[0] + 1e-3) / dpi, (self.size[1] + 1e-3) / dpi)
        fig.set_dpi(dpi)
        fig.set_facecolor("white")
        self.fig = fig
        w_in, h_in = self.size[0] / dpi, self.size[1] / dpi

        def place(x: float, y_top: float, w: float, h: float) -> Axes:
            """An axes at inches from the left and from the top of the frame."""
            return fig.add_axes((x / w_in, 1 - (y_top + h) / h_in, w / w_in, h / h_in))

        self.title = fig.text(0.12 / w_in, 1 - 0.1 / h_in, title, fontsize=11, va="top",
                              color="black")
        self.status = fig.text(0.12 / w_in, 1 - 0.38 / h_in, "", fontsize=9, va="top",
                               color=".15")
        self.images: list[tuple[Any, str, int]] = []
        #: What changes from frame to frame, or lies on top of something that does, in
        #: drawing order; the rest is drawn once and restored for every frame (blitting).
        self.animated: list[Any] = []
        y = head_in
        if self.box is not None:
            ax = place((w_in - map_w_in) / 2 + 0.2, y, map_w_in, map_h_in)
            self._map_axes(ax, background)
            y += map_h_in + 0.25
        panel_w = (w_in - 0.3) / PANEL_COLUMNS
        for i, local in enumerate(self.panels):
            row, col = divmod(i, PANEL_COLUMNS)
            ax = place(0.15 + col * panel_w + 0.1, y + row * PANEL_HEIGHT_IN + 0.2,
                       panel_w - 0.25, PANEL_HEIGHT_IN - 0.45)
            self._panel_axes(ax, local, i)
        if not self.images:
            fig.text(0.5, 0.5, "no positions in these logs", ha="center", va="center")
        self._footer(place, w_in, h_in - foot_in + 0.12, step_range)
        # Axes, ticks, titles, colour bar and background picture never change: drawn
        # once here, then restored under every frame's changing artists.
        for artist in self.animated:
            artist.set_animated(True)
        fig.canvas.draw()
        self._still = fig.canvas.copy_from_bbox(fig.bbox)

    def _blank(self, ax: Axes) -> None:
        ax.set_facecolor(EMPTY_COLOR)
        ax.grid(False)
        ax.tick_params(labelsize=6.5, length=2)
        for spine in ax.spines.values():
            spine.set_edgecolor(".7")

    def _map_axes(self, ax: Axes, background: np.ndarray | None) -> None:
        import matplotlib.patheffects as pe
        from matplotlib.patches import Rectangle

        assert self.box is not None and self.heat.grid is not None
        left, right, top, bottom = self.box
        self._blank(ax)
        extent = (left - 0.5, right + 0.5, bottom + 0.5, top - 0.5)
        if background is not None:
            ax.imshow(background, extent=extent, interpolation="antialiased", origin="upper")
        shape = (bottom - top + 1, right - left + 1)
        image = ax.imshow(np.zeros((*shape, 4), dtype=np.uint8), extent=extent,
                          interpolation="nearest", origin="upper")
        self.images.append((image, "map", -1))
        self.animated.append(image)
        for r in self.heat.visited_regions:
            self.animated.append(ax.add_patch(Rectangle(
                (r.gx0 - 0.5, r.gy0 - 0.5), r.width, r.height, fill=False, edgecolor=".55",
                linewidth=0.4)))
        for name, _map_id, _visits, cx, cy in self.heat.labels[:LABELLED_MAPS]:
            if left <= cx <= right and top <= cy <= bottom:
                self.animated.append(ax.text(
                    cx, cy, name, ha="center", va="center", fontsize=6, color="black",
                    clip_on=True, path_effects=[pe.withStroke(linewidth=2, foreground="white")]))
        ax.set_xlim(left - 0.5, right + 0.5)
        ax.set_ylim(bottom + 0.5, top - 0.5)
        ax.set_aspect("equal")
        name = self.heat.table_path.name if self.heat.table_path else "map table"
        ax.set_title(f"Kanto map ({name}), global tiles", loc="left", fontsize=7.5, pad=3)

    def _panel_axes(self, ax: Axes, local: LocalMap, index: int) -> None:
        from matplotlib.ticker import MaxNLocator

        self._blank(ax)
        h, w = local.visits.shape
        image = ax.imshow(np.zeros((h, w, 4), dtype=np.uint8), interpolation="nearest",
                          origin="upper", extent=(local.x0 - 0.5, local.x0 + w - 0.5,
                                                  local.y0 + h - 0.5, local.y0 - 0.5))
        self.images.append((image, "panel", index))
        self.animated.append(image)
        ax.set_aspect("equal")
        lacking = " (not in table)" if self.heat.table_path is not None else ""
        ax.set_title(f"map {local.map_id}{lacking}", fontsize=6.5, loc="left", pad=2)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))

    def _footer(self, place: Any, w_in: float, y: float, step_range: tuple[int, int]) -> None:
        from matplotlib.cm import ScalarMappable
        from matplotlib.patches import Rectangle
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        first, last = step_range
        line = place(0.3, y + 0.05, w_in * 0.5, 0.1)
        line.set_xlim(first - 1, max(last, first))
        line.set_ylim(0, 1)
        line.set_yticks([])
        line.grid(False)
        line.set_facecolor("#e4e7ea")
        for spine in line.spines.values():
            spine.set_visible(False)
        line.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        line.xaxis.set_major_formatter(FuncFormatter(format_steps))
        line.tick_params(labelsize=6.5, length=2, pad=1)
        line.set_xlabel("global training step", fontsize=6.5, labelpad=1)
        self.progress = Rectangle((first - 1, 0), 0, 1, color="#0173b2", linewidth=0)
        line.add_patch(self.progress)
        self.animated += [self.progress, self.status]
        bar = place(w_in * 0.62, y + 0.05, w_in * 0.22, 0.1)
        mappable = ScalarMappable(norm=self.norm, cmap=self.cmap)
        colorbar = self.fig.colorbar(mappable, cax=bar, orientation="horizontal")
        colorbar.ax.tick_params(labelsize=6, length=2, pad=1)
        colorbar.ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        colorbar.set_label("visits in this window (log)", fontsize=6.5, labelpad=1)
        swatch = place(w_in * 0.88, y + 0.05, 0.18, 0.1)
        swatch.set_facecolor(FADED_RGB)
        swatch.set_xticks([])
        swatch.set_yticks([])
        swatch.set_xlabel("before", fontsize=6.5, labelpad=2)

    def draw(self, window: Sequence[np.ndarray], seen: Sequence[np.ndarray], status: str,
             step: int) -> bytes:
        """Render one frame.

        Args:
            window: visits of this window per area: the map's crop first (when there
                is a map), then each map's local grid (only the first panels are drawn).
            seen: the matching tiles visited before this window (bool).
            status: the text line (step, tiles, reward).
            step: the window's last global step (the timeline).

        Returns:
            The frame as packed RGB bytes, ``size[0] × size[1] × 3``. Deterministic.
        """
        shown = len(self.images)  # panels beyond MAX_PANELS are counted, not drawn
        for (image, _kind, _i), counts, before in zip(self.images, window[:shown], seen[:shown],
                                                       strict=True):
            image.set_data(overlay(counts, before, self.cmap, self.norm, self.faded_alpha))
        self.status.set_text(status)
        self.progress.set_width(step - self.progress.get_x())
        canvas = self.fig.canvas
        canvas.restore_region(self._still)
        for artist in self.animated:
            self.fig.draw_artist(artist)
        rgba = np.asarray(canvas.buffer_rgba())
        if rgba.shape[:2] != (self.size[1], self.size[0]):
            raise RuntimeError(f"frame is {rgba.shape[1]}x{rgba.shape[0]} px, expected "
                               f"{self.size[0]}x{self.size[1]}")
        return np.ascontiguousarray(rgba[:, :, :3]).tobytes()
