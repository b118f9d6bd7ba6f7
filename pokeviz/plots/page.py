"""Plotly figure dicts to pages: deterministic JSON, self-contained HTML, shared layout.

A figure here is a plain, JSON-able dict ``{"data": [...], "layout": {...}}`` (what
``Plotly.newPlot`` takes). :func:`html_page` inlines the plotly.js bundle of the
installed ``plotly`` package, so a page needs no network. Every output is
deterministic: fixed ids, no dates, floats in Python's shortest round-trip form.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..outputs import atomic_write

__all__ = ["CONFIG", "FONT", "figure_json", "html_page", "plain", "plotly_js", "write_html"]

#: The page font (the static figures use DejaVu Sans; browsers fall back to their sans).
FONT = {"family": "DejaVu Sans, Arial, sans-serif", "size": 12, "color": "#262626"}



def plain(value: Any) -> Any:
    """numpy arrays and scalars to lists and Python numbers; NaN and ±inf to None.

    What every JSON pokeviz emits goes through (figures of the pages, the web API's
    answers). Recursive over dicts, lists and tuples; deterministic.
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def figure_json(figure: dict[str, Any]) -> str:
    """A figure dict as compact JSON, safe to embed in a ``<script>`` element.

    Args:
        figure: from :func:`reward_traces`, :func:`heatmap_traces` or any Plotly-style
            ``{"data", "layout"}`` dict; numpy values and NaN are allowed (NaN → null).

    Returns:
        The JSON text; ``</`` is written ``<\\/`` so no string can close the script.
        Deterministic: keys keep their insertion order, floats their shortest
        round-trip form.
    """
    text = json.dumps(plain(figure), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return text.replace("</", "<\\/")


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle of the installed ``plotly`` package (about 4.8 MB).

    Read from the package's files, never from the network. Cached per process.
    """
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


#: The browser-side options of every page: no Plotly logo, no link to the cloud.
CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
          "toImageButtonOptions": {"format": "png", "scale": 2}}


def html_page(figure: dict[str, Any], *, div_id: str, title: str) -> bytes:
    """A self-contained HTML page that draws one figure (plotly.js inlined).

    Args:
        figure: a Plotly figure dict (see :func:`figure_json`).
        div_id: the id of the figure's ``<div>``; fixed by the caller so that the same
            figure gives the same bytes (letters, digits, ``-`` and ``_``).
        title: the page's ``<title>``.

    Returns:
        The UTF-8 page. It loads nothing over the network. Deterministic.

    Raises:
        ValueError: a ``div_id`` with other characters.
    """
    if not div_id or not all(c.isalnum() or c in "-_" for c in div_id):
        raise ValueError(f"div_id must be letters, digits, - or _: {div_id!r}")
    data = figure_json({"data": figure.get("data", [])})[len('{"data":'):-1]
    layout = figure_json(figure.get("layout", {}))
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{margin:0;background:#fff}"
        f"#{div_id}{{width:100%;max-width:1400px;margin:auto}}</style>\n"
        f"<script type=\"text/javascript\">{plotly_js()}</script>\n"
        f"</head>\n<body>\n<div id=\"{div_id}\"></div>\n"
        "<script type=\"text/javascript\">\n"
        f"Plotly.newPlot(\"{div_id}\", {data}, {layout}, {figure_json(CONFIG)});\n"
        "</script>\n</body>\n</html>\n"
    )
    return page.encode("utf-8")


def write_html(figure: dict[str, Any], path: str | Path, *, div_id: str,
               title: str | None = None) -> Path:
    """Write :func:`html_page` of a figure atomically (``pokeviz.outputs.atomic_write``).

    Args:
        figure: a Plotly figure dict.
        path: the destination; its folder must exist.
        div_id: the figure's fixed ``<div>`` id.
        title: the page title (default: the file name without suffix).

    Returns:
        ``path`` as a Path. The same figure and arguments give the same bytes.

    Raises:
        OutputError: the file cannot be written (one line naming the path).
    """
    path = Path(path)
    if title is None:
        title = path.stem
    return atomic_write(path, html_page(figure, div_id=div_id, title=title))


# ---------------------------------------------------------------------------
# Layout pieces shared by the interactive figures



def rgba(color: str, alpha: float) -> str:
    """``#rrggbb`` plus an opacity as a CSS ``rgba(r,g,b,a)`` colour."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def axis_name(kind: str, index: int) -> str:
    """The layout key of axis ``index`` (from 1) of ``kind`` ``x``/``y``: ``xaxis``, ``xaxis2``."""
    return kind + "axis" + ("" if index == 1 else str(index))


def axis_ref(kind: str, index: int) -> str:
    """How a trace names axis ``index`` of ``kind``: ``x``, ``x2`` …"""
    return kind + ("" if index == 1 else str(index))


def title_block(lines: Sequence[str], top_px: int) -> dict[str, Any]:
    """A figure title as an annotation: the first line large, the others smaller and grey.

    Args:
        lines: the title lines (plain text; escaped here).
        top_px: the figure's top margin; the title's top sits 10 px below the figure's
            top edge, left-aligned with the figure (an annotation, since Plotly's own
            title mis-places multi-line titles).

    Returns:
        An entry for ``layout["annotations"]``.
    """
    first, *rest = lines
    text = f"<span style=\"font-size:15px\">{html.escape(first)}</span>" + "".join(
        f"<br><span style=\"font-size:12px;color:#595959\">{html.escape(s)}</span>"
        for s in rest)
    return {"text": text, "x": 0, "xref": "paper", "xanchor": "left", "xshift": -50,
            "y": 1, "yref": "paper", "yanchor": "top", "yshift": top_px - 10,
            "align": "left", "showarrow": False, "name": "title"}


def panel_title(text: str, x: float, y: float, color: str = "#262626",
                bold: bool = False, escape: bool = True) -> dict[str, Any]:
    """An annotation naming a panel, left-aligned just above ``(x, y)`` in paper units.

    ``escape=False`` takes ``text`` as Plotly's HTML subset (for ``<b>``, ``<br>``).
    """
    label = html.escape(text) if escape else text
    return {"text": f"<b>{label}</b>" if bold else label, "x": x, "y": y,
            "xref": "paper", "yref": "paper", "xanchor": "left", "yanchor": "bottom",
            "align": "left", "showarrow": False, "font": {"size": 12, "color": color}}


def empty_figure(lines: Sequence[str], message: str) -> dict[str, Any]:
    """A figure without data: the title and a centred message (e.g. "no entries yet")."""
    return {
        "data": [],
        "layout": {
            "font": FONT, "height": 300, "template": "none", "margin": {"t": 90},
            "xaxis": {"visible": False}, "yaxis": {"visible": False},
            "annotations": [title_block(lines, 90),
                            {"text": html.escape(message), "x": 0.5, "y": 0.5,
                             "xref": "paper", "yref": "paper", "showarrow": False}],
        },
    }


def axis_style(**extra: Any) -> dict[str, Any]:
    """The whitegrid look of the static figures as a Plotly axis, plus ``extra`` keys."""
    style = {"showgrid": True, "gridcolor": "#cccccc", "linecolor": "#cccccc",
             "mirror": True, "showline": True, "zeroline": False, "ticks": "",
             "automargin": True}
    style.update(extra)
    return style
