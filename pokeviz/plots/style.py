"""The shared look of pokeviz figures and their deterministic, atomic saving.

The theme is seaborn's ``whitegrid`` style at the ``paper`` context with the
``colorblind`` palette, written out here as plain rcParams so that plotting does not
import seaborn (and pandas) on every run, with one change: the font is DejaVu Sans,
which ships with matplotlib, so the same figure has the same bytes on every machine.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..outputs import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Raster resolution of every saved figure.
DPI = 300
#: Width of the figures in inches: the full text width of a two-column paper (ICML).
FIGURE_WIDTH_IN = 6.75
#: Formats matplotlib draws (:func:`save_figure`).
IMAGE_FORMATS = ("png", "pdf", "svg")
#: Output formats ``pokeviz plot --format`` accepts: the images and ``html``, a
#: self-contained interactive Plotly page (:mod:`pokeviz.plots.interactive`).
FORMATS = (*IMAGE_FORMATS, "html")
#: Fixed so SVG element ids are the same on every run.
SVG_HASHSALT = "pokeviz"

#: seaborn 0.13 ``color_palette("colorblind")``.
PALETTE = (
    "#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
    "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9",
)

#: One colour per reward metric, the same in every figure (static, interactive, compare),
#: whichever other metrics a run has. From :data:`PALETTE`, without its two palest
#: colours (pink, yellow), which are hard to read as text on white.
METRIC_COLORS: dict[str, str] = {
    "reward_total": "#0173b2",
    "reward_event": "#de8f05",
    "reward_level": "#029e73",
    "reward_heal": "#d55e00",
    "reward_badge": "#cc78bc",
    "reward_explore": "#56b4e9",
    "reward_dead": "#ca9161",
    "reward_stuck": "#949494",
}
#: Colours of extra components (``op_lvl`` and the like), picked by a hash of the name,
#: so an extra keeps its colour whatever other extras a run has.
EXTRA_METRIC_COLORS = ("#7b4f9d", "#8c564b", "#17becf", "#9a9a00", "#e377c2", "#2f4b7c")


def metric_color(metric: str) -> str:
    """The colour of a reward metric (``reward_total``, ``reward_heal``, ``reward_op_lvl``).

    Returns:
        A ``#rrggbb`` colour from :data:`METRIC_COLORS`, or, for a metric not there, one
        of :data:`EXTRA_METRIC_COLORS` chosen by the CRC-32 of its name. Deterministic:
        the same name always gets the same colour, on every machine.
    """
    import zlib

    if metric in METRIC_COLORS:
        return METRIC_COLORS[metric]
    return EXTRA_METRIC_COLORS[zlib.crc32(metric.encode()) % len(EXTRA_METRIC_COLORS)]


#: seaborn 0.13 ``axes_style("whitegrid")`` | ``plotting_context("paper")``, plus the
#: fixed font, the palette and the save settings.
RC: dict[str, Any] = {
    # axes_style("whitegrid")
    "figure.facecolor": "white",
    "axes.labelcolor": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "axes.axisbelow": True,
    "grid.linestyle": "-",
    "text.color": ".15",
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "xtick.top": False,
    "ytick.right": False,
    "axes.grid": True,
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "grid.color": ".8",
    "axes.spines.left": True,
    "axes.spines.bottom": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "xtick.bottom": False,
    "ytick.left": False,
    # plotting_context("paper")
    "axes.linewidth": 1.0,
    "grid.linewidth": 0.8,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.8,
    "patch.linewidth": 0.8,
    "xtick.major.width": 1.0,
    "ytick.major.width": 1.0,
    "xtick.minor.width": 0.8,
    "ytick.minor.width": 0.8,
    "xtick.major.size": 4.8,
    "ytick.major.size": 4.8,
    "xtick.minor.size": 3.2,
    "ytick.minor.size": 3.2,
    "font.size": 9.6,
    "axes.labelsize": 9.6,
    "axes.titlesize": 9.6,
    "xtick.labelsize": 8.8,
    "ytick.labelsize": 8.8,
    "legend.fontsize": 8.8,
    "legend.title_fontsize": 9.6,
    # pokeviz
    "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans"],
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "savefig.dpi": DPI,
    "figure.dpi": 100,
    "image.interpolation": "nearest",
}

#: Per-format ``savefig(metadata=...)``: no dates, no version strings (PNG is written by
#: :func:`_write_png`, with no text chunk at all).
METADATA: dict[str, dict[str, Any]] = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
    "svg": {"Date": None, "Creator": None},
}


@contextmanager
def theme() -> Iterator[None]:
    """Apply the pokeviz rcParams inside a ``with`` block (global state is restored).

    Imports matplotlib (lazily: only plotting pays for it).
    """
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def new_figure(width_in: float, height_in: float, **kwargs: Any) -> Figure:
    """A matplotlib Figure with an Agg canvas, outside pyplot's global figure list.

    Call inside :func:`theme`. Args are the size in inches and ``Figure`` keyword args.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), **kwargs)
    FigureCanvasAgg(fig)
    return fig


def freeze_layout(fig: Figure) -> Figure:
    """Run the figure's (constrained) layout once, then keep it for every save.

    Every format then gets the same layout, whichever formats are saved and in which
    order, and saving does not lay the figure out again; axes positions are rounded so
    that rebuilding the same figure gives the same bytes. Returns ``fig``.
    """
    if fig.get_layout_engine() is not None:
        with warnings.catch_warnings():
            # A figure of a run without entries has nothing to lay out: not worth a warning.
            warnings.filterwarnings("ignore", "constrained_layout not applied", UserWarning)
            fig.draw_without_rendering()
        fig.set_layout_engine("none")
    # The constrained layout of the same figure can differ in the last bits from one
    # construction to the next within a process (text extent caches); SVG clip-path ids
    # hash the full-precision axes boxes, so positions are rounded to 1e-6 of the
    # figure (a thousandth of a pixel) to keep the bytes the same.
    for ax in fig.axes:
        ax.set_position([round(float(v), 6) for v in ax.get_position().bounds])
    return fig


def format_steps(value: float, _pos: object = None) -> str:
    """A step count as a short tick label: ``0``, ``500``, ``250K``, ``1.5M``, ``2B``.

    Args:
        value: the step count.
        _pos: ignored (matplotlib's FuncFormatter passes the tick position).

    Returns:
        The label, at most 3 significant digits. Deterministic.
    """
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= limit:
            return f"{sign}{value / limit:.3g}{suffix}"
    return f"{sign}{value:.3g}" if value else "0"


def compact_labels(values: list[float]) -> list[str]:
    """Short tick labels for evenly spaced values: as many decimals as the spacing needs.

    ``[0, 0.25, 0.5]`` → ``0, 0.25, 0.5``; ``[-0.004, -0.002, 0]`` → ``-0.004, -0.002, 0``;
    values of 10,000 and more get K/M/B suffixes (``15K``, ``2.5M``), of 1e12 and more an
    exponent on each label. Never an offset or a power of ten beside the axis.
    Deterministic.
    """
    if not values:
        return []
    top = max(abs(v) for v in values)
    if top >= 1e12:  # beyond B: each label carries its own power of ten (2.25e+307)
        return ["0" if v == 0 else f"{v:.3g}" for v in values]
    scale, suffix = 1.0, ""
    for limit, name in ((1e9, "B"), (1e6, "M"), (1e4, "K")):
        if top >= limit:
            scale, suffix = (1e3 if name == "K" else limit), name
            break
    scaled = [v / scale for v in values]
    for decimals in range(0, 9):
        rounded = [round(v, decimals) for v in scaled]
        step = min((abs(b - a) for a, b in zip(scaled, scaled[1:], strict=False)),
                   default=1.0) or 1.0
        if all(abs(r - v) <= step * 1e-6 for r, v in zip(rounded, scaled, strict=True)):
            break
    return [
        ("0" if r == 0 else f"{r:.{decimals}f}{suffix}")
        for r in (round(v, decimals) for v in scaled)
    ]


def compact_formatter() -> Any:
    """A matplotlib tick Formatter using :func:`compact_labels` for the visible ticks."""
    from matplotlib.ticker import Formatter

    class CompactFormatter(Formatter):
        def format_ticks(self, values: Any) -> list[str]:
            return compact_labels([float(v) for v in values])

        def __call__(self, x: float, pos: object = None) -> str:
            return compact_labels([float(x)])[0]

    return CompactFormatter()


def png_image(fig: Figure) -> Any:
    """The figure drawn at :data:`DPI`, as the PIL image :func:`_write_png` encodes.

    pokeviz figures are opaque (white background), so the alpha channel matplotlib's
    own PNG writer keeps is constant; it is left out (RGB), which makes the file ~10%
    smaller and changes no pixel. A figure with any transparent pixel stays RGBA.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba", dpi=DPI)
    # Agg's canvas is int(size in inches × dpi) pixels, as here.
    width = int(fig.get_size_inches()[0] * DPI)
    height = len(buffer.getbuffer()) // (4 * width)
    image = Image.frombuffer("RGBA", (width, height), buffer.getbuffer(), "raw", "RGBA", 0, 1)
    if image.getchannel("A").getextrema() == (255, 255):
        return image.convert("RGB")
    return image.copy()  # not a view of the buffer


def _write_png(fig: Figure, out: BinaryIO) -> None:
    """A PNG of the figure (see :func:`png_image`) written to ``out``."""
    png_image(fig).save(out, format="PNG", dpi=(DPI, DPI))


def save_figure(fig: Figure, path: str | Path, fmt: str) -> Path:
    """Write a figure atomically and byte-reproducibly.

    The file is written to a temporary file in the same folder and renamed over
    ``path``, so a reader never sees a partial plot. PNG, PDF and SVG carry no date or
    version, SVG ids use the fixed :data:`SVG_HASHSALT`, rasters are :data:`DPI` dpi:
    the same figure always gives the same bytes.

    Args:
        fig: the figure (from :func:`new_figure`, drawn inside :func:`theme`).
        path: the destination; its folder must exist.
        fmt: ``png``, ``pdf`` or ``svg``.

    Returns:
        ``path`` as a Path.

    Raises:
        ValueError: an unknown format.
        OutputError: the folder cannot be written (the message says why and what to do).
    """
    import matplotlib

    if fmt not in IMAGE_FORMATS:
        raise ValueError(
            f"unknown image format {fmt!r}: use one of {', '.join(IMAGE_FORMATS)}"
        )
    path = Path(path)

    def write(f: BinaryIO) -> None:
        # The hash salt is set again so a caller saving outside theme() gets fixed ids too.
        with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT}):
            if fmt == "png":
                _write_png(fig, f)
            else:
                fig.savefig(f, format=fmt, dpi=DPI, metadata=METADATA[fmt])

    atomic_write(path, write)
    return path
