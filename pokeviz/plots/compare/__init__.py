"""Variants side by side (``pokeviz compare``): mean over runs with a 95 % band, game progress.

Data flow: every run of every compared variant is opened with
:func:`pokeviz.api.open_run` (which brings its cache up to date first; see
:func:`pokeviz.stats.variants.load_variants`), then each figure is built from the views
only — ``file_stats`` for the per-file means and maxima, ``tiles`` for the first global
step of every tile — never from the JSON logs. Modules: :mod:`.data` (a run's views →
per-file arrays), :mod:`.series` (the figure data), :mod:`.figure` (matplotlib),
:mod:`.table` (the printed table), :mod:`.colors` (fixed variant colours).

How a curve is made (the same for every metric):

* **Per run**, one point per log file with entries: the exact per-file statistic over
  all of the file's entries, at the file's middle global step (for ``exploration``: the
  cumulative count of unique tiles at the file's last global step, plus a first point
  at the run's first step). A file without the metric gives no point (never 0).
* **Per variant**, the mean across its runs on a common step grid: the sorted union of
  the runs' own points inside the range that *every* run covers (from the latest first
  point to the earliest last point). Each run is linearly interpolated between its own
  points onto that grid; nothing is extrapolated beyond a run's first or last point, so
  the mean is always over the same runs. Runs longer than the shortest continue as thin
  lines, and a note says so.
* **Band** (``band``): with ``n ≥ 2`` runs, ``ci95`` (default) is mean ±
  ``t(0.975, n − 1) · s / √n`` (``s`` the sample standard deviation across runs at that
  grid point): a 95 % confidence interval of the mean over runs (seeds), Student's t;
  ``se`` is ± ``s / √n``, ``sd`` ± ``s``, ``none`` no band. One run: its own points, no
  band, and the legend says so. The y axis follows the means and runs, never the band:
  a wider band is cut at the axis, with a note.

Everything is deterministic: the same logs and arguments give the same numbers and
byte-identical figures, whatever the order or worker count of earlier ingests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...discover import Run
from ...errors import NoLogFilesError, PokevizError
from ...kanto import MapTable, resolve_map_table
from ...outputs import check_formats
from ...stats import BANDS
from ...stats.variants import RUN_CHOICES, load_variants, variant_names
from ..memo import FigureMemo, output_lines
from ..page import write_html
from ..style import FORMATS, save_figure, theme
from .colors import EXTRA_COLORS, FIXED_COLORS, variant_color, variant_colors
from .data import STAT_METRICS, RunData, VariantData, run_data
from .figure import DETAIL_COLUMNS, comparison_figure
from .interactive import comparison_traces
from .series import (
    DEFAULT_METRICS,
    METRICS,
    ComparisonFigure,
    Panel,
    RunSeries,
    VariantSeries,
    figure_data,
    mean_and_band,
    run_points,
)
from .table import summary_table

__all__ = [
    "DEFAULT_METRICS",
    "DETAIL_COLUMNS",
    "EXTRA_COLORS",
    "FIXED_COLORS",
    "METRICS",
    "RUN_CHOICES",
    "STAT_METRICS",
    "CompareResult",
    "ComparisonFigure",
    "Panel",
    "RunData",
    "RunSeries",
    "VariantData",
    "VariantSeries",
    "compare_names",
    "compare_variants",
    "comparison_figure",
    "comparison_traces",
    "figure_data",
    "mean_and_band",
    "run_data",
    "run_points",
    "summary_table",
    "variant_color",
    "variant_colors",
]


@dataclass
class CompareResult:
    """What :func:`compare_variants` did.

    Attributes:
        variants: every compared variant (usable or not), in the order compared.
        figures: the data behind each figure, by metric, in ``metrics`` order.
        paths: every file written, metric by metric, in ``formats`` order.
        table: the per-variant table (header first), as printed.
        warnings: variants or runs not drawn, and why; runs without a metric.
        map_table: the map table used for exploration (None: (map, x, y) triples).
        files_read: log files read by the ingests of this call (0: nothing changed).
        seconds: wall time of the call.
    """

    variants: list[VariantData]
    figures: dict[str, ComparisonFigure]
    paths: list[Path]
    table: list[str]
    warnings: list[str]
    map_table: MapTable | None
    files_read: int
    seconds: float
    #: files of ``paths`` left as they were: same figure data and code (not drawn).
    kept: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The output of ``pokeviz compare``: table, warnings, notes, files written."""
        out = list(self.table)
        for warning in self.warnings:
            out.append(f"warning  {warning}")
        for fig in self.figures.values():
            for note in fig.notes:
                out.append(f"note     {fig.metric}: {note}")
        table = self.map_table.path if self.map_table and self.map_table.path else None
        tiles = (f"global Kanto tiles from {table}" if table
                 else "no map table found: (map, x, y) triples (see --map-data)")
        out.append(f"tiles    {tiles}")
        out.append(f"ingest   {self.files_read} log file{'s' if self.files_read != 1 else ''} "
                   "read (the rest cached)")
        out.extend(output_lines(self.paths, self.kept))
        out.append(f"time     {self.seconds:.2f} s in total")
        return out

    def run_lines(self) -> list[str]:
        """One line per compared run (``pokeviz compare -v``)."""
        out = []
        for v in self.variants:
            for data in v.runs:
                r = data.report
                steps = (f"{r.first_global_step:,} … {r.last_global_step:,}"
                         if r.last_global_step is not None else "none")
                out.append(f"run      {v.name}/{data.run.timestamp}: {r.files} files "
                           f"({len(r.update.ingested)} read), {r.entries:,} entries, "
                           f"steps {steps}, {data.tiles:,} tiles")
            for reason in v.skipped:
                out.append(f"skipped  {v.name}: {reason}")
        return out


def compare_names(variant_names: Sequence[str], metric: str, fmt: str) -> str:
    """The file name of one comparison figure: ``compare_v1-v2_{metric}.{fmt}``."""
    return f"compare_{'-'.join(variant_names)}_{metric}.{fmt}"


def compare_variants(
    variants: Sequence[str] | None = None,
    *,
    experiments_dir: str | Path = "experiments",
    runs: str = "all",
    output_dir: str | Path | None = None,
    formats: Sequence[str] = ("png",),
    metrics: Sequence[str] = DEFAULT_METRICS,
    jobs: int | None = None,
    map_data: str | Path | None = None,
    progress: Callable[[Run, int, int], Any] | None = None,
    executor: Executor | None = None,
    band: str = "ci95",
    redraw: bool = False,
) -> CompareResult:
    """Compare variants side by side over their runs (``pokeviz compare``).

    Args:
        variants: variant folder names under ``experiments_dir``, in the order wanted
            (default: every folder holding a run, in name order).
        experiments_dir: where variant folders live.
        runs: ``"all"`` (every run of a variant: the band is across them) or
            ``"latest"`` (only its latest run, :func:`pokeviz.discover.latest_run`).
        output_dir: where to write (created); default ``<experiments_dir>/plots/``.
        formats: one or more of ``png``, ``pdf``, ``svg`` and ``html`` (a self-contained
            interactive Plotly page of the same data).
        metrics: figures to draw, of :data:`METRICS` (default reward_total, exploration).
        jobs: ingest worker processes per run (results do not depend on it).
        map_data: the ``map_data.json`` for global tiles; default ``POKEVIZ_MAP_DATA``,
            then a search from ``experiments_dir`` upward
            (:func:`pokeviz.kanto.resolve_map_table`).
        progress: ``progress(run, done_bytes, total_bytes)`` during each run's ingest.
        executor: read stale log files on this executor (one Dask cluster for every
            run, :func:`pokeviz.cluster.cluster_executor`) instead of ``jobs`` processes.
        band: ``ci95`` (default), ``se``, ``sd`` or ``none`` (:data:`pokeviz.stats.BANDS`).
        redraw: draw every image again. By default an image whose figure data and
            drawing code are unchanged since it was written, and whose file still has
            those bytes, is kept (:mod:`pokeviz.plots.memo`, kept in
            ``<output_dir>/.cache/``).

    Returns:
        The :class:`CompareResult`: one ``compare_{v1-v2-…}_{metric}.{fmt}`` per metric
        and format (the names of the variants drawn), the table, warnings and the data
        behind every figure.

    Raises:
        PokevizError: bad arguments; ``RunNotFoundError`` for a missing experiments or
            variant folder; ``NoLogFilesError`` when no variant has a usable log file;
            ``MapTableError`` for a bad map table; ``OutputError`` when a figure cannot
            be written.

    A variant without usable log files (no run, no ``stats_*.json``, or no entries in
    them) is named in a warning and the others are still drawn. On unchanged logs no
    file is read. Deterministic: same logs and arguments, byte-identical files.
    """
    started = time.perf_counter()
    experiments = Path(experiments_dir)
    formats = check_formats(formats, FORMATS, "plot format")
    metrics = check_formats(metrics, METRICS, "metric")
    if runs not in RUN_CHOICES:
        raise PokevizError(f"--runs must be one of {', '.join(RUN_CHOICES)}, got {runs!r}")
    if band not in BANDS:
        raise PokevizError(f"--band must be one of {', '.join(BANDS)}, got {band!r}")
    names, found = variant_names(experiments, variants)
    colors = variant_colors(sorted(set(found) | set(names)))
    table, map_notes = resolve_map_table(experiments, map_data)

    loaded, warnings, files_read = load_variants(
        names, experiments, lambda view: run_data(view, table), runs=runs, jobs=jobs,
        progress=progress, executor=executor)
    warnings = list(map_notes) + warnings
    compared = [VariantData(name=v.name, path=v.path, color=colors[v.name], runs=v.runs,
                            skipped=v.skipped) for v in loaded]
    if not any(v.usable for v in compared):
        raise NoLogFilesError(f"{experiments}: no usable log files in "
                              f"{', '.join(names)}; " + " ".join(warnings))

    out_dir = Path(output_dir) if output_dir is not None else experiments / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = [v.name for v in compared if v.usable]
    figures: dict[str, ComparisonFigure] = {}
    paths: list[Path] = []
    memo = FigureMemo(out_dir / ".cache", reuse=not redraw)
    with theme():
        for metric in metrics:
            data = figure_data(metric, compared, table, band)
            images = [(out_dir / compare_names(drawn, metric, fmt), fmt)
                      for fmt in formats if fmt != "html"]
            todo = memo.to_draw(data, data.title, images)  # before any path is added
            fig = comparison_figure(data) if todo else None
            for fmt in formats:
                path = out_dir / compare_names(drawn, metric, fmt)
                if fmt == "html":
                    data.paths.append(write_html(comparison_traces(data), path,
                                                 div_id=f"compare-{metric}"))
                elif (path, fmt) in todo:
                    data.paths.append(save_figure(fig, path, fmt))
                    memo.remember(path)
                else:
                    data.paths.append(path)
            paths.extend(data.paths)
            figures[metric] = data
    if any(fmt != "html" for fmt in formats):
        memo.save()
    return CompareResult(
        variants=compared,
        figures=figures,
        paths=paths,
        table=summary_table(compared),
        warnings=warnings,
        map_table=table,
        files_read=files_read,
        seconds=time.perf_counter() - started,
        kept=memo.kept,
    )
