"""Text pages of the PDF reports: a key-value title block and tables that stay text.

Everything here draws with matplotlib text artists on fixed positions (no layout
engine), so the pages are vector, searchable (``pdf.fonttype`` 42 keeps the glyphs as
text) and identical on every construction. Long tables continue on further pages.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .plots.style import FIGURE_WIDTH_IN, new_figure

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure

#: Text pages are as wide as the figures and roughly portrait (the figure pages keep
#: their own heights).
PAGE_HEIGHT_IN = 9.0
MARGIN_IN = 0.45
#: Table text size in points and the line height it gets.
TABLE_FONT_PT = 7.5
LINE_IN = 0.155
#: Points between table columns.
COLUMN_GAP_PT = 10.0
RULE_COLOR = ".35"
NOTE_COLOR = ".35"


@functools.lru_cache(maxsize=4096)
def _char_width_pt(char: str, size: float) -> float:
    """Advance width of one character of the page font at ``size`` points."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family="DejaVu Sans", size=size)
    width, _, _ = _renderer().get_text_width_height_descent(char, prop, ismath=False)
    return float(width)


@functools.lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(10, 10, 72)  # 72 dpi: one pixel is one point


def text_width_pt(text: str, size: float = TABLE_FONT_PT) -> float:
    """Approximate width of ``text`` in points (sum of per-character advances)."""
    return sum(_char_width_pt(c, size) for c in text)


def wrap_to(text: str, width_pt: float, size: float = TABLE_FONT_PT) -> list[str]:
    """``text`` broken at spaces into lines that fit ``width_pt`` points (≥ 1 line).

    A word longer than the width stays whole on its own line (paths, file names).
    """
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width_pt(f"{lines[-1]} {word}", size) <= width_pt:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


@dataclass
class Table:
    """A table to draw: a caption, a header row, body rows, and notes under it.

    Attributes:
        caption: bold line above the table.
        header: column names (None: no header row, e.g. a list of facts).
        rows: cells as strings (already formatted).
        numeric: indices of right-aligned (number) columns.
        wrap: index of one column whose long cells wrap onto more lines (None: none).
        notes: lines in grey under the table (what the numbers mean).
    """

    caption: str
    header: Sequence[str] | None
    rows: Sequence[Sequence[str]]
    numeric: frozenset[int] = frozenset()
    wrap: int | None = None
    notes: Sequence[str] = field(default_factory=tuple)


def _page(title: str) -> tuple[Figure, float]:
    """A blank text page with its title; returns the figure and the next free y (in)."""
    fig = new_figure(FIGURE_WIDTH_IN, PAGE_HEIGHT_IN)
    y = PAGE_HEIGHT_IN - MARGIN_IN
    # One font (no bold): every extra face embedded costs time and bytes.
    fig.text(MARGIN_IN / FIGURE_WIDTH_IN, y / PAGE_HEIGHT_IN, title, fontsize=12,
             va="top", ha="left", color="black")
    return fig, y - 0.4


def _column_widths(table: Table, usable_pt: float) -> list[float]:
    widths = [0.0] * len(table.rows[0] if table.rows else table.header or ())
    for row in [table.header or (), *table.rows]:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], text_width_pt(cell))
    gaps = COLUMN_GAP_PT * (len(widths) - 1)
    if table.wrap is not None and sum(widths) + gaps > usable_pt:
        others = sum(w for i, w in enumerate(widths) if i != table.wrap)
        widths[table.wrap] = max(60.0, usable_pt - gaps - others)
    return widths


def _text(fig: Figure, x_in: float, y_in: float, text: str, *, right: bool = False,
          size: float = TABLE_FONT_PT, color: str = ".15") -> None:
    fig.text(x_in / FIGURE_WIDTH_IN, y_in / PAGE_HEIGHT_IN, text, fontsize=size,
             ha="right" if right else "left", va="top", color=color)


def _rule(fig: Figure, x0_in: float, x1_in: float, y_in: float, width: float = 0.6) -> None:
    from matplotlib.lines import Line2D

    y = y_in / PAGE_HEIGHT_IN
    fig.add_artist(Line2D([x0_in / FIGURE_WIDTH_IN, x1_in / FIGURE_WIDTH_IN], [y, y],
                          color=RULE_COLOR, linewidth=width))


def table_pages(title: str, tables: Sequence[Table], intro: Sequence[str] = ()) -> list[Figure]:
    """Draw tables on as many text pages as they need (booktabs style: three rules).

    Args:
        title: the page title (``(continued)`` is added on later pages).
        tables: drawn one below the other; a table that does not fit continues on the
            next page with its header repeated.
        intro: lines of text under the title of the first page.

    Returns:
        The pages, in order (Agg canvases, fixed positions). Deterministic; cost
        O(cells) text measurements (cached per character).
    """
    usable_pt = (FIGURE_WIDTH_IN - 2 * MARGIN_IN) * 72
    left = MARGIN_IN
    bottom = MARGIN_IN + 0.2
    pages: list[Figure] = []
    fig, y = _page(title)
    pages.append(fig)
    for line in intro:
        for part in wrap_to(line, usable_pt, 8.5):
            _text(fig, left, y, part, size=8.5)
            y -= LINE_IN * 1.15
    if intro:
        y -= 0.15

    def new_page() -> float:
        nonlocal fig
        fig, top = _page(f"{title} (continued)")
        pages.append(fig)
        return top

    for table in tables:
        widths = _column_widths(table, usable_pt)
        scale = min(1.0, usable_pt / (sum(widths) + COLUMN_GAP_PT * (len(widths) - 1)))
        size = TABLE_FONT_PT * max(scale, 0.75)
        x_pt = [0.0]
        for w in widths[:-1]:
            x_pt.append(x_pt[-1] + (w + COLUMN_GAP_PT) * scale)
        right_in = left + (x_pt[-1] + widths[-1] * scale) / 72

        def header(y: float, table: Table = table, x_pt: list[float] = x_pt,
                   widths: list[float] = widths, size: float = size,
                   right_in: float = right_in, scale: float = scale) -> float:
            _rule(fig, left, right_in, y + 0.02, 0.9)
            if table.header is None:
                return y - 0.06
            for i, name in enumerate(table.header):
                right = i in table.numeric
                x = left + (x_pt[i] + (widths[i] * scale if right else 0)) / 72
                _text(fig, x, y - 0.03, name, right=right, size=size, color="black")
            y -= LINE_IN + 0.06
            _rule(fig, left, right_in, y + 0.02, 0.5)
            return y - 0.03

        if y - 3 * LINE_IN < bottom:
            y = new_page()
        _text(fig, left, y, table.caption, size=9.5, color="black")
        y = header(y - LINE_IN * 1.4)
        for row in table.rows:
            cells = [wrap_to(c, widths[i] * scale, size) if i == table.wrap else [c]
                     for i, c in enumerate(row)]
            height = LINE_IN * max(len(c) for c in cells)
            if y - height < bottom:
                _rule(fig, left, right_in, y + 0.02, 0.9)
                y = new_page()
                _text(fig, left, y, f"{table.caption} (continued)", size=9.5, color="black")
                y = header(y - LINE_IN * 1.4)
            for i, lines in enumerate(cells):
                right = i in table.numeric
                x = left + (x_pt[i] + (widths[i] * scale if right else 0)) / 72
                for k, line in enumerate(lines):
                    _text(fig, x, y - k * LINE_IN, line, right=right, size=size)
            y -= height
        _rule(fig, left, right_in, y + 0.02, 0.9)
        y -= 0.1
        for note in table.notes:
            for part in wrap_to(note, usable_pt, 7):
                if y - LINE_IN < bottom:
                    y = new_page()
                _text(fig, left, y, part, size=7, color=NOTE_COLOR)
                y -= LINE_IN * 0.95
        y -= 0.3
    return pages
