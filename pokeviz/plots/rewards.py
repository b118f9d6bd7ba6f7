"""The reward figure: per-episode reward components against the global training step.

Two layers per metric, both from the cache:

* exact: the per-file mean over **all** entries of each log file (``file_stats``),
  drawn at the middle of the file's global step range, with a band of ± 1 standard
  deviation (sample std over the file's entries);
* sampled: the ``reservoir`` rows (a uniform, seeded sample of the per-file samples)
  smoothed with a centred rolling mean whose window adapts to the number of samples,
  drawn every ``window // 5`` samples; within one file (one rollout) the samples are
  mixed before smoothing (:func:`rollout_order`).

A metric missing from the whole run is not drawn (never as 0) and is named in a note;
a metric missing from some files leaves gaps there.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..formats import COMPONENTS
from .layout import Box, grid_boxes, place, skip_label_placement
from .style import FIGURE_WIDTH_IN, compact_formatter, format_steps, metric_color, new_figure

if TYPE_CHECKING:
    import duckdb
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The metrics every reward-logging generation has, in drawing order.
STANDARD_METRICS = ("reward_total", *(f"reward_{c}" for c in COMPONENTS))
#: ``reward_step`` is the reward of one step, not a per-episode cumulative component:
#: it is on another scale and is not drawn.
NOT_DRAWN = ("reward_step",)
#: The adaptive window is at most this fraction of the samples (``n // 5``).
SAMPLES_PER_WINDOW = 5
#: Component panels per row.
COLUMNS = 4


@dataclass
class MetricSeries:
    """The data behind one reward panel.

    Per-file arrays are aligned with :attr:`RewardData.file_names` (NaN where the file
    lacks the metric); sample arrays are the reservoir rows with a value, by global step.
    """

    metric: str
    mean: np.ndarray
    std: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    count: np.ndarray
    sample_step: np.ndarray
    sample_value: np.ndarray
    smooth_step: np.ndarray
    smooth_value: np.ndarray
    window: int
    #: the samples in the order the rolling mean takes them (:func:`rollout_order`), so
    #: a client that smooths again (the serve page's slider) draws the same curve.
    rollout_step: np.ndarray
    rollout_value: np.ndarray

    @property
    def label(self) -> str:
        """The metric without its ``reward_`` prefix (``total``, ``event``, ``op_lvl``)."""
        return self.metric.removeprefix("reward_")

    @property
    def files_missing(self) -> int:
        """Files (with entries) that have no value of this metric."""
        return int(np.isnan(self.mean).sum())


@dataclass
class RewardData:
    """Everything the reward figure shows, as numbers.

    Attributes:
        file_names, file_first_step, file_last_step: the files with entries, in file
            order, and their global step range; ``file_mid_step`` is where their means
            are drawn.
        files, entries: all files and all entries of the run.
        samples: reservoir rows drawn (the sampling numerator of the title).
        series: drawn metrics by name, total first, then the standard components,
            then extra components in name order.
        missing: standard metrics absent from every file (named in the note).
        first_global_step, last_global_step: the covered range (None without entries).
    """

    file_names: list[str]
    file_first_step: np.ndarray
    file_last_step: np.ndarray
    files: int
    entries: int
    samples: int
    first_global_step: int | None
    last_global_step: int | None
    smooth_window: int
    series: dict[str, MetricSeries] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def file_mid_step(self) -> np.ndarray:
        """The middle global step of each file (where its mean is drawn)."""
        return (self.file_first_step + self.file_last_step) / 2.0

    @property
    def sampling_line(self) -> str:
        """E.g. ``10,000 of 1,310,720 entries sampled (0.76%) · 40 files``."""
        ratio = self.samples / self.entries if self.entries else 0.0
        files = f"{self.files} file" + ("" if self.files == 1 else "s")
        return f"{self.samples:,} of {self.entries:,} entries sampled ({ratio:.2%}) · {files}"


def adaptive_window(n_samples: int, smooth_window: int) -> int:
    """The rolling-mean window for ``n_samples`` samples.

    Returns:
        ``min(smooth_window, max(1, n_samples // 5))``: the requested window, reduced
        when there are few samples so the curve still has shape (≥ 5 windows).
    """
    return max(1, min(int(smooth_window), n_samples // SAMPLES_PER_WINDOW))


def rolling_mean(
    steps: np.ndarray, values: np.ndarray, window: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Centred rolling mean of ``values`` (and of ``steps``) over ``window`` neighbours.

    Args:
        steps, values: equal-length arrays sorted by step, without NaN.
        window: at least 1.
        stride: keep every ``stride``-th window (and always the last one).

    Returns:
        ``(mean step, mean value)`` of every ``stride``-th run of ``window`` consecutive
        samples (``len - window + 1`` runs in all; empty when there are fewer samples).
        Exact and deterministic; O(n).
    """
    n = len(values)
    if n < window or window < 1:
        return np.empty(0), np.empty(0)
    kernel = np.full(window, 1.0 / window)
    mean_step = np.convolve(steps.astype(np.float64), kernel, mode="valid")
    mean_value = np.convolve(values.astype(np.float64), kernel, mode="valid")
    if stride > 1:
        keep = np.unique(np.append(np.arange(0, len(mean_value), stride), len(mean_value) - 1))
        mean_step, mean_value = mean_step[keep], mean_value[keep]
    return mean_step, mean_value


def smoothing_stride(window: int) -> int:
    """Windows between drawn points of the smoothed curve: ``max(1, window // 5)``.

    A rolling mean over ``window`` samples has no detail finer than a few samples, so
    drawing it every ``window // 5`` samples shows the same curve with fewer vertices
    (smaller files, less visual noise).
    """
    return max(1, window // SAMPLES_PER_WINDOW)


def rollout_order(steps: np.ndarray, files: np.ndarray,
                  keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order in which samples are smoothed: files in turn, mixed within a file.

    The entries of one log file come from one rollout: every environment ran at the
    same time, and they are stored env-major, so their global steps order them by
    environment, not by time. A rolling mean in that order draws each environment's
    episode as a saw-tooth. Within a file the samples are therefore taken in the fixed
    pseudo-random order of their ``sample_key`` and placed on the file's sampled steps
    in step order: the curve keeps every sample and the files' step ranges, and shows
    no environment blocks. (The ``samples`` view and the raw sample dots keep each
    entry's own ``global_step``.)

    Args:
        steps: global steps of the samples (any order).
        files: file order index of each sample.
        keys: the samples' stable ``sample_key``.

    Returns:
        ``(slots, values_order)``: ``steps[slots]`` is sorted by (file, step) and
        ``values[values_order]`` are the values to draw at those steps. Deterministic.
    """
    slots = np.lexsort((steps, files))
    return slots, np.lexsort((keys, files))


def _masked_to_float(column: np.ndarray) -> np.ndarray:
    data = np.ma.getdata(column).astype(np.float64, copy=True)
    data[np.ma.getmaskarray(column)] = np.nan
    return data


def reward_data(con: duckdb.DuckDBPyConnection, *, smooth_window: int = 50) -> RewardData:
    """Read the reward figure's data from a run's views.

    Args:
        con: a connection from :func:`pokeviz.query.connect` (its reservoir size is the
            number of samples shown).
        smooth_window: the largest rolling-mean window (see :func:`adaptive_window`).

    Returns:
        The :class:`RewardData`. Deterministic: the same cache and reservoir seed give
        the same arrays, whatever the file order or worker count of the ingest. Cost:
        one pass over ``file_stats`` (files × metrics rows) and the reservoir.

    Raises:
        ValueError: ``smooth_window`` < 1.
    """
    if smooth_window < 1:
        raise ValueError(f"smooth_window must be at least 1, got {smooth_window}")
    files, entries = con.execute(
        "SELECT count(*), coalesce(sum(entries), 0)::BIGINT FROM files"
    ).fetchone()
    with_entries = con.execute(
        "SELECT file, first_global_step, last_global_step FROM files "
        "WHERE entries > 0 ORDER BY file_order"
    ).fetchall()
    names = [r[0] for r in with_entries]
    slot = {name: i for i, name in enumerate(names)}
    first = np.array([r[1] for r in with_entries], dtype=np.int64)
    last = np.array([r[2] for r in with_entries], dtype=np.int64)
    samples = con.execute("SELECT count(*) FROM reservoir").fetchone()[0]
    data = RewardData(
        file_names=names,
        file_first_step=first,
        file_last_step=last,
        files=int(files),
        entries=int(entries),
        samples=int(samples),
        first_global_step=int(first.min()) if len(first) else None,
        last_global_step=int(last.max()) if len(last) else None,
        smooth_window=int(smooth_window),
    )

    rows = con.execute(
        "SELECT metric, file, n, min, max, mean, std FROM file_stats "
        "WHERE starts_with(metric, 'reward_') ORDER BY metric, file"
    ).fetchall()
    present = sorted({r[0] for r in rows} - set(NOT_DRAWN))
    order = [m for m in STANDARD_METRICS if m in present] + [
        m for m in present if m not in STANDARD_METRICS
    ]
    data.missing = [m for m in STANDARD_METRICS if m not in present]
    if not order:
        return data
    columns = ", ".join(order)
    reservoir = con.execute(
        f"SELECT global_step, file, sample_key, {columns} FROM reservoir "
        "ORDER BY global_step, file, entry_index"
    ).fetchnumpy()
    steps = np.asarray(np.ma.getdata(reservoir["global_step"]), dtype=np.int64)
    sample_file = np.array([slot.get(f, -1) for f in reservoir["file"].tolist()],
                           dtype=np.int64)
    sample_key = np.asarray(np.ma.getdata(reservoir["sample_key"]), dtype=np.int64)
    per_metric: dict[str, list[tuple]] = {m: [] for m in order}
    for row in rows:
        if row[0] in per_metric and row[1] in slot:
            per_metric[row[0]].append(row)
    for metric in order:
        arrays = {k: np.full(len(names), np.nan) for k in ("n", "min", "max", "mean", "std")}
        for _, file, n, lo, hi, mean, std in per_metric[metric]:
            i = slot[file]
            arrays["n"][i], arrays["min"][i], arrays["max"][i] = n, lo, hi
            arrays["mean"][i], arrays["std"][i] = mean, 0.0 if std is None else std
        values = _masked_to_float(reservoir[metric])
        keep = ~np.isnan(values)
        sample_step, sample_value = steps[keep], values[keep]
        window = adaptive_window(len(sample_value), smooth_window)
        slots, mixed = rollout_order(sample_step, sample_file[keep], sample_key[keep])
        rollout_step, rollout_value = sample_step[slots], sample_value[mixed]
        smooth_step, smooth_value = rolling_mean(
            rollout_step, rollout_value, window, smoothing_stride(window))
        data.series[metric] = MetricSeries(
            metric=metric,
            mean=arrays["mean"],
            std=arrays["std"],
            minimum=arrays["min"],
            maximum=arrays["max"],
            count=arrays["n"],
            sample_step=sample_step,
            sample_value=sample_value,
            smooth_step=smooth_step,
            smooth_value=smooth_value,
            window=window,
            rollout_step=rollout_step,
            rollout_value=rollout_value,
        )
    return data


def band(series: MetricSeries) -> tuple[np.ndarray, np.ndarray]:
    """The per-file band: mean ± 1 std, clipped to the file's min–max.

    Clipping keeps the band inside the values that occurred (a count or a reward that
    never went below 0 gets no band below 0).
    """
    low = np.maximum(series.mean - series.std, series.minimum)
    high = np.minimum(series.mean + series.std, series.maximum)
    return low, high


#: Legend entries of the layers, in legend order.
LAYER_LABELS = {
    "mean": "per-file mean (all entries)",
    "band": "per-file mean ± 1 std, within min–max (all entries)",
    "samples": "reservoir samples",
}
#: Fixed layout in inches: title lines, legend rows, note lines, total panel, one row of
#: component panels (title + axes + tick labels), margins.
_TITLE_LINE_IN, _LEGEND_ROW_IN, _NOTE_LINE_IN = 0.2, 0.19, 0.145
_TOTAL_AXES_IN, _PART_AXES_IN = 1.75, 0.95
_PANEL_TITLE_IN, _TICKS_IN, _ROW_GAP_IN = 0.24, 0.2, 0.16
_LEFT_IN, _PART_LEFT_IN, _RIGHT_IN, _XLABEL_IN = 0.62, 0.44, 0.12, 0.32
#: Characters per note line (7.5 pt over the figure's width).
_NOTE_CHARS = 110


def _draw_series(ax: Axes, data: RewardData, series: MetricSeries, emphasize: bool) -> None:
    color = metric_color(series.metric)
    x = data.file_mid_step
    low, high = band(series)
    with np.errstate(over="ignore"):  # a span beyond float64 (values near ±1.7e308)
        spread = np.nan_to_num(high - low)
    if spread.max(initial=0.0) > 0:
        ax.fill_between(x, low, high, color=color, alpha=0.25, linewidth=0,
                        label=LAYER_LABELS["band"])
    if emphasize and len(series.sample_step):
        ax.scatter(series.sample_step, series.sample_value, s=1.5, color=".72",
                   linewidths=0, rasterized=True, label=LAYER_LABELS["samples"])
    if len(series.smooth_step) > 1:
        ax.plot(series.smooth_step, series.smooth_value, color=".3",
                linewidth=0.7 if emphasize else 0.5,
                label=f"samples, rolling mean (window {series.window})")
    single = len(x) < 2 or np.isnan(series.mean).sum() >= len(x) - 1
    ax.plot(x, series.mean, color=color, linewidth=2.2 if emphasize else 1.6,
            marker="o" if single else None, markersize=3, zorder=3,
            label=LAYER_LABELS["mean"])


def _legend(box: Axes, ax: Axes) -> None:
    """The figure's one legend, in its own row ``box`` under the title, taken from
    ``ax`` (every panel uses the same styles): outside the panels, it hides no data."""
    handles, labels = ax.get_legend_handles_labels()
    rank = {LAYER_LABELS["mean"]: 0, LAYER_LABELS["samples"]: 9}
    order = sorted(range(len(labels)), key=lambda i: (rank.get(labels[i], 1), i))
    box.set_axis_off()
    legend = box.legend([handles[i] for i in order], [labels[i] for i in order],
                        loc="center", ncols=2, fontsize=7.5, frameon=False, borderaxespad=0,
                        handlelength=1.8, columnspacing=1.5, labelspacing=0.3)
    # The sample dots are tiny in the panel; their legend entry shows them larger.
    for handle, label in zip(legend.legend_handles, legend.get_texts(), strict=True):
        if label.get_text() == LAYER_LABELS["samples"]:
            handle.set_sizes([12.0])


def _step_axis(ax: Axes, data: RewardData, bins: int) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if data.first_global_step is not None and data.last_global_step is not None:
        left, right = data.first_global_step - 1, data.last_global_step
        if right - left < 4:
            # A handful of steps: a step of room on the right, so a point at the last
            # step is not drawn on the frame.
            right += 1
        ax.set_xlim(left, right)
    # Whole steps only: a run of one entry gets ticks 0 and 1, not 0.2, 0.4, ...
    ax.xaxis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10],
                                           integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(format_steps))


#: An eighth of the largest float64: y limits inside ± this keep ``top − bottom`` and
#: the tick arithmetic on it finite (values near ±1.7e308 overflow matplotlib's).
_Y_LIMIT = float(np.finfo(np.float64).max / 8)


def _value_axis(ax: Axes, bins: int) -> None:
    """Ticks and labels of a value axis; limits kept finite for values near ±1.7e308."""
    from matplotlib.ticker import MaxNLocator

    bottom, top = ax.dataLim.intervaly
    if np.isfinite(bottom) and np.isfinite(top) and max(-bottom, top) > _Y_LIMIT:
        # Drawn values beyond the limits are clipped at the frame.
        low, high = (float(v) for v in np.clip([bottom, top], -_Y_LIMIT, _Y_LIMIT))
        if low == high:  # all beyond one limit: the upper or lower half of the range
            low, high = (low / 2, high) if high > 0 else (low, high / 2)
        ax.set_ylim(low, high)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=bins))
    # Short labels and no offset text ("1e6" above the axis would sit on the title).
    ax.yaxis.set_major_formatter(compact_formatter())


def missing_notes(data: RewardData) -> list[str]:
    """What a reward figure cannot show, one unwrapped sentence each: the metrics missing
    from the whole run, and those missing from some files (drawn with gaps).

    The static figure wraps them under its legend, the interactive page under its title.
    """
    notes = []
    if data.missing:
        notes.append("not in these logs, not drawn: " + ", ".join(data.missing))
    partial = [f"{s.metric} ({s.files_missing} of {len(data.file_names)} files)"
               for s in data.series.values() if s.files_missing]
    if partial:
        notes.append("missing in some files (gaps): " + ", ".join(partial))
    return notes


def reward_figure(data: RewardData, *, title: str) -> Figure:
    """Draw the reward figure.

    Layout (fixed, in inches, from the number of panels): the title; the legend; the
    notes (metrics missing from the whole run, or from some files) on their own lines;
    the total reward (emphasized: thick line, raw samples as dots); every other
    component in its own small panel below (own y scale, same x range), so components
    cannot be mistaken for one another. Each metric has its colour from
    :func:`pokeviz.plots.style.metric_color`, the same in every figure.

    Args:
        data: from :func:`reward_data`.
        title: first title line (variant and run); the sampling line is added.

    Returns:
        A matplotlib Figure (Agg canvas) with its final layout; call inside
        :func:`pokeviz.plots.style.theme`. Deterministic.
    """
    metrics = list(data.series)
    total = data.series.get("reward_total")
    parts = [data.series[m] for m in metrics if m != "reward_total"]
    notes = [line for note in missing_notes(data) for line in textwrap.wrap(note, _NOTE_CHARS)]
    n_cols = max(1, min(COLUMNS, len(parts)))
    n_rows = -(-len(parts) // n_cols) if parts else 0
    legend_rows = 2 if metrics else 0
    head = 0.1 + 2 * _TITLE_LINE_IN + 0.08
    legend_top = head
    notes_top = legend_top + legend_rows * _LEGEND_ROW_IN
    y = notes_top + len(notes) * _NOTE_LINE_IN + 0.06
    total_h = _PANEL_TITLE_IN + _TOTAL_AXES_IN + _TICKS_IN + _ROW_GAP_IN if total else 0.0
    part_h = _PANEL_TITLE_IN + _PART_AXES_IN + _TICKS_IN + _ROW_GAP_IN
    height = y + total_h + n_rows * part_h + _XLABEL_IN if metrics else 2.6
    fig = new_figure(FIGURE_WIDTH_IN, round(height, 2))
    fig.suptitle(f"{title}\n{data.sampling_line}", fontsize=10, y=1 - 0.1 / fig.get_figheight(),
                 va="top")
    if not metrics:
        ax = place(fig, Box(0, head, FIGURE_WIDTH_IN, 2.6 - head))
        ax.set_axis_off()
        empty = "no reward values in these logs" if data.entries else "no entries yet"
        ax.text(0.5, 0.5, "\n".join([empty, *notes]), ha="center", va="center",
                transform=ax.transAxes)
        return fig

    width = FIGURE_WIDTH_IN - _RIGHT_IN
    legend_box = place(fig, Box(0, legend_top, FIGURE_WIDTH_IN,
                                legend_rows * _LEGEND_ROW_IN))
    if notes:
        fig.text(0.5, 1 - notes_top / height, "\n".join(notes), ha="center", va="top",
                 fontsize=7.5, color=".35", linespacing=1.3)
    axes: list[Axes] = []
    if total is not None:
        ax = place(fig, Box(_LEFT_IN, y + _PANEL_TITLE_IN, width - _LEFT_IN, _TOTAL_AXES_IN))
        _draw_series(ax, data, total, emphasize=True)
        # y given: matplotlib then skips measuring the axes to place the title.
        ax.set_title("total reward (cumulative in the episode)", loc="left", fontsize=9.6,
                     pad=4, y=1.0)
        ax.set_ylabel("reward")
        _value_axis(ax, 5)
        skip_label_placement(ax, y=False)
        _legend(legend_box, ax)
        axes.append(ax)
        y += total_h
    boxes = grid_boxes(len(parts), n_cols, left=0.0, top=y, width=width, cell_height=part_h,
                       gap_x=0.0, gap_y=0.0,
                       inner=Box(_PART_LEFT_IN, _PANEL_TITLE_IN, _PART_LEFT_IN + 0.14,
                                 _PANEL_TITLE_IN + _TICKS_IN + _ROW_GAP_IN))
    for i, (series, box) in enumerate(zip(parts, boxes, strict=True)):
        # Same x limits everywhere, but no sharex: small panels need fewer ticks.
        ax = place(fig, box)
        _draw_series(ax, data, series, emphasize=total is None and i == 0)
        extra = "" if series.metric in STANDARD_METRICS else " (extra)"
        ax.set_title(series.label + extra, loc="left", fontsize=9,
                     color=metric_color(series.metric), fontweight="bold", pad=4, y=1.0)
        ax.tick_params(labelsize=7.5)
        _value_axis(ax, 4)
        skip_label_placement(ax)
        if total is None and i == 0:
            _legend(legend_box, ax)
        axes.append(ax)
    for i, ax in enumerate(axes):
        _step_axis(ax, data, 6 if i == 0 and total is not None else 3)
    fig.text(0.5, 0.1 / height, "global training step (every panel)", ha="center",
             va="bottom", fontsize=9.6)
    return fig
