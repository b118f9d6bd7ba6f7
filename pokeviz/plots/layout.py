"""Fixed figure layout in inches, and the check that no two texts of a figure overlap.

The run figures know their panels before drawing (how many components, how many maps),
so their axes are placed from fixed sizes in inches (:class:`Column`, :func:`place`)
instead of matplotlib's constrained layout, which measures every tick label of every
axes several times (most of the drawing time on a figure of 20 panels). The sizes leave
room for the texts at the theme's font sizes; :func:`text_overlaps` checks that they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

def line_height_in(points: float) -> float:
    """Height in inches of one text line of ``points`` size (1.25 line spacing)."""
    return points * 1.25 / 72


@dataclass(frozen=True)
class Box:
    """A rectangle in inches from the figure's top-left corner (y grows downward)."""

    left: float
    top: float
    width: float
    height: float


def place(fig: Figure, box: Box, **kwargs: object) -> Axes:
    """Add an axes at ``box`` (inches from the top left), positions rounded to 1e-6.

    Rounding keeps SVG clip-path ids (which hash the full-precision box) the same on
    every construction. Keyword arguments go to ``Figure.add_axes``.
    """
    width, height = fig.get_size_inches()
    rect = [
        round(box.left / width, 6),
        round(1 - (box.top + box.height) / height, 6),
        round(box.width / width, 6),
        round(box.height / height, 6),
    ]
    return fig.add_axes(rect, **kwargs)


def skip_label_placement(ax: Axes, *, x: bool = True, y: bool = True) -> None:
    """Give the axis labels of ``ax`` a fixed place (for axes whose labels are empty).

    matplotlib moves an axis label clear of the tick labels on every draw, measuring
    every tick label again to do so; an axis that shows no label does not need it, and
    a fixed place skips the measuring (about 10 ms per axes at 300 dpi).
    """
    if x:
        ax.xaxis.set_label_coords(0.5, -0.25)
    if y:
        ax.yaxis.set_label_coords(-0.25, 0.5)


def grid_boxes(n: int, columns: int, *, left: float, top: float, width: float,
               cell_height: float, gap_x: float, gap_y: float,
               inner: Box) -> list[Box]:
    """Boxes of ``n`` panels in rows of ``columns``, each cell ``cell_height`` high.

    Args:
        n, columns: panels and panels per row (the last row may be shorter).
        left, top: top-left corner of the grid in inches.
        width: the grid's width; cells are ``(width - (columns-1) gap_x) / columns`` wide.
        cell_height: height of one cell (title, axes and tick labels).
        gap_x, gap_y: space between cells.
        inner: the axes inside a cell, relative to the cell: ``left`` and ``top`` are
            offsets, ``width``/``height`` are how much smaller than the cell it is.

    Returns:
        The axes boxes, row by row.
    """
    cell_width = (width - (columns - 1) * gap_x) / columns
    boxes = []
    for i in range(n):
        row, col = divmod(i, columns)
        x = left + col * (cell_width + gap_x)
        y = top + row * (cell_height + gap_y)
        boxes.append(Box(x + inner.left, y + inner.top, cell_width - inner.width,
                         cell_height - inner.height))
    return boxes


def drawn_texts(fig: Figure) -> list[Text]:
    """Every non-empty text the figure draws (titles, tick labels, legends, notes), with
    its window extent computed during one draw of the figure.

    Returns:
        The Text artists in drawing order; each has ``_pokeviz_extent`` set.
    """
    from matplotlib.text import Text

    drawn: list[Text] = []
    original = Text.draw

    def record(self: Text, renderer: object) -> None:
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            self._pokeviz_extent = self.get_window_extent(renderer)  # type: ignore[attr-defined]
            drawn.append(self)

    Text.draw = record  # type: ignore[method-assign]
    try:
        fig.draw_without_rendering()
    finally:
        Text.draw = original  # type: ignore[method-assign]
    return drawn


def text_overlaps(fig: Figure, *, tolerance_px: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts of a figure whose boxes overlap.

    Draws the figure once (without rendering pixels) and compares the window extents
    of every text it draws: titles, panel titles, tick labels, axis labels, legend
    entries, colour-bar labels, notes and map names.

    Args:
        fig: a laid-out figure.
        tolerance_px: boxes must overlap by more than this many pixels (at the
            figure's dpi) in both directions to count (touching is allowed).

    Returns:
        ``(text a, text b)`` for every overlapping pair, in drawing order; empty when
        every text has its own place. Deterministic.
    """
    texts = drawn_texts(fig)
    boxes = [t._pokeviz_extent for t in texts]  # type: ignore[attr-defined]
    pairs = []
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if dx > tolerance_px and dy > tolerance_px:
                pairs.append((texts[i].get_text(), texts[j].get_text()))
    return pairs


def texts_outside(fig: Figure, *, tolerance_px: float = 0.5) -> list[str]:
    """Texts that the figure's edges cut off (drawn partly outside the canvas)."""
    width, height = fig.canvas.get_width_height()
    out = []
    for text in drawn_texts(fig):
        box = text._pokeviz_extent  # type: ignore[attr-defined]
        if (box.x0 < -tolerance_px or box.y0 < -tolerance_px
                or box.x1 > width + tolerance_px or box.y1 > height + tolerance_px):
            out.append(text.get_text())
    return out
