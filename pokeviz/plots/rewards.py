"""The reward figure: per-episode reward components against the global training step.

Two layers per metric, both from the cache:

* exact: the per-file mean over **all** entries of each log file (``file_stats``),
  drawn at the middle of the file's global step range, with a band of ± 1 standard
  deviation (sample std over the file's entries);
* sampled: the ``reservoir`` rows (a uniform, seeded sample of the per-file samples)
  smoothed with a centred rolling mean whose window adapts to the number of samples,
  drawn every ``window // 5`` samples.

A metric missing from the whole run is not drawn (never as 0) and is named in a note;
a metric missing from some files leaves gaps there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..formats import COMPONENTS
from .style import FIGURE_WIDTH_IN, PALETTE, format_steps, freeze_layout, new_figure

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
        f"SELECT global_step, {columns} FROM reservoir ORDER BY global_step, file, entry_index"
    ).fetchnumpy()
    steps = np.asarray(np.ma.getdata(reservoir["global_step"]), dtype=np.int64)
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
        smooth_step, smooth_value = rolling_mean(
            sample_step, sample_value, window, smoothing_stride(window)
        )
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


def _draw_series(ax: Axes, data: RewardData, series: MetricSeries, color: str,
                 emphasize: bool) -> None:
    x = data.file_mid_step
    low, high = band(series)
    ax.fill_between(x, low, high, color=color, alpha=0.25, linewidth=0,
                    label="per-file mean ± 1 std, within min–max (all entries)")
    if emphasize and len(series.sample_step):
        ax.scatter(series.sample_step, series.sample_value, s=1.5, color=".72",
                   linewidths=0, rasterized=True, label="reservoir samples")
    if len(series.smooth_step):
        ax.plot(series.smooth_step, series.smooth_value, color=".3",
                linewidth=0.7 if emphasize else 0.5,
                label=f"samples, rolling mean (window {series.window})")
    single = len(x) < 2 or np.isnan(series.mean).sum() >= len(x) - 1
    ax.plot(x, series.mean, color=color, linewidth=2.2 if emphasize else 1.6,
            marker="o" if single else None, markersize=3, zorder=3,
            label="per-file mean (all entries)")


def _legend(box: Axes, ax: Axes) -> None:
    """The figure's one legend, in its own row ``box`` under the title, taken from
    ``ax`` (every panel uses the same styles): outside the panels, it hides no data."""
    handles, labels = ax.get_legend_handles_labels()
    rank = {"per-file mean (all entries)": 0, "reservoir samples": 9}
    order = sorted(range(len(labels)), key=lambda i: (rank.get(labels[i], 1), i))
    box.set_axis_off()
    box.legend([handles[i] for i in order], [labels[i] for i in order], loc="center",
               ncols=2, fontsize=7.5, frameon=False, markerscale=4, borderaxespad=0)


def _step_axis(ax: Axes, data: RewardData, bins: int) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if data.first_global_step is not None and data.last_global_step is not None:
        left = data.first_global_step - 1
        ax.set_xlim(left, max(data.last_global_step, left + 1))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(format_steps))


def reward_figure(data: RewardData, *, title: str) -> Figure:
    """Draw the reward figure.

    Layout: the legend and the notes (metrics missing from the whole run, or from some
    files) under the title; the total reward (emphasized: thick line, raw samples as
    dots); every other component in its own small panel below (own y scale, same x
    range), so components cannot be mistaken for one another.

    Args:
        data: from :func:`reward_data`.
        title: first title line (variant and run); the sampling line is added.

    Returns:
        A matplotlib Figure (Agg canvas), laid out and frozen
        (:func:`pokeviz.plots.style.freeze_layout`); call inside
        :func:`pokeviz.plots.style.theme`. Deterministic.
    """
    from matplotlib.ticker import MaxNLocator

    metrics = list(data.series)
    total = data.series.get("reward_total")
    parts = [data.series[m] for m in metrics if m != "reward_total"]
    n_cols = max(1, min(COLUMNS, len(parts)))
    n_rows = -(-len(parts) // n_cols) if parts else 0
    height = 1.0 + (2.1 if total is not None else 0) + 1.3 * n_rows + 0.3
    fig = new_figure(FIGURE_WIDTH_IN, max(height, 2.6), layout="constrained")
    fig.suptitle(f"{title}\n{data.sampling_line}", fontsize=10)

    notes = []
    if data.missing:
        notes.append("not in these logs, not drawn: " + ", ".join(data.missing))
    partial = [f"{s.metric} ({s.files_missing} of {len(data.file_names)} files)"
               for s in data.series.values() if s.files_missing]
    if partial:
        notes.append("missing in some files (gaps): " + ", ".join(partial))
    if not metrics:
        ax = fig.add_subplot()
        ax.set_axis_off()
        empty = "no reward values in these logs" if data.entries else "no entries yet"
        ax.text(0.5, 0.5, "\n".join([empty, *notes]), ha="center", va="center",
                transform=ax.transAxes)
    else:
        # Row 0 holds the legend and the notes, so neither hides data.
        ratios = [0.26 + 0.13 * len(notes)] + ([2.0] if total is not None else [])
        ratios += [1.0] * n_rows
        grid = fig.add_gridspec(len(ratios), n_cols, height_ratios=ratios)
        legend_box = fig.add_subplot(grid[0, :])
        if notes:
            legend_box.text(0.5, 0.0, "\n".join(notes), ha="center", va="bottom",
                            fontsize=7.5, color=".35", transform=legend_box.transAxes)
        axes: list[Axes] = []
        row = 1
        if total is not None:
            ax = fig.add_subplot(grid[1, :])
            _draw_series(ax, data, total, PALETTE[0], emphasize=True)
            ax.set_title("total reward (cumulative in the episode)", loc="left", fontsize=9.6)
            ax.set_ylabel("reward")
            _legend(legend_box, ax)
            axes.append(ax)
            row = 2
        for i, series in enumerate(parts):
            # Same x limits everywhere, but no sharex: small panels need fewer ticks.
            ax = fig.add_subplot(grid[row + i // n_cols, i % n_cols])
            color = PALETTE[(i + 1) % len(PALETTE)]
            _draw_series(ax, data, series, color, emphasize=False)
            extra = "" if series.metric in STANDARD_METRICS else " (extra)"
            ax.set_title(series.label + extra, loc="left", fontsize=9, color=color,
                         fontweight="bold")
            ax.tick_params(labelsize=7.5)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            if total is None and i == 0:
                _legend(legend_box, ax)
            axes.append(ax)
        for i, ax in enumerate(axes):
            _step_axis(ax, data, 6 if i == 0 and total is not None else 3)
        fig.supxlabel("global training step (every panel)", fontsize=9.6)
    return freeze_layout(fig)
