"""Publication plots of a run, from its cache: ``plot_run`` (``pokeviz plot``).

``plot_run`` brings the cache up to date (the same code as ``pokeviz ingest``), reads
the figures' data through the DuckDB views, and writes

* ``{variant}_{timestamp}_rewards.{fmt}`` — :mod:`pokeviz.plots.rewards`;
* ``{variant}_{timestamp}_heatmap.{fmt}`` — :mod:`pokeviz.plots.heatmap`;

into ``<run>/plots/`` or ``output_dir``: images (PNG, PDF, SVG) drawn by matplotlib,
imported lazily, and interactive pages (HTML) of the same data
(:mod:`pokeviz.plots.interactive`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import IngestReport, find_run, open_run
from ..discover import Run
from ..errors import PokevizError
from ..kanto import MapTable, resolve_map_table
from ..outputs import check_formats
from ..text import count
from .heatmap import HeatmapData, heatmap_data
from .memo import FigureMemo, output_lines
from .render import render_figures
from .rewards import RewardData, reward_data
from .style import FORMATS, IMAGE_FORMATS

__all__ = ["FORMATS", "PlotResult", "plot_names", "plot_run"]


@dataclass
class PlotResult:
    """What ``plot_run`` did: the ingest, the figures' data and the files written.

    Attributes:
        report: the ingest report (files, entries, problems, step range, tiles).
        paths: every file written, rewards first then heatmap, in ``formats`` order.
        rewards: the numbers behind the reward figure.
        heatmap: the numbers behind the heatmap (global visit grid, unplaced maps).
        map_table: the table used, or None.
        seconds: wall time of the whole call.
    """

    report: IngestReport
    paths: list[Path]
    rewards: RewardData
    heatmap: HeatmapData
    map_table: MapTable | None = None
    seconds: float = 0.0
    #: e.g. map tables the search found but could not read.
    notes: list[str] = field(default_factory=list)
    #: files of ``paths`` left as they were: same data, options and code (not drawn).
    kept: list[Path] = field(default_factory=list)

    @property
    def placed_visits(self) -> int:
        """Visits drawn on the global Kanto map."""
        return self.heatmap.placed_visits

    @property
    def unplaced_visits(self) -> int:
        """Visits on maps without global coordinates (drawn in their own panels)."""
        return self.heatmap.unplaced_visits

    @property
    def unplaced_map_ids(self) -> list[int]:
        """Ids of the maps without global coordinates, most visited first."""
        return self.heatmap.unplaced_map_ids

    def lines(self) -> list[str]:
        """The summary ``pokeviz plot`` prints: the ingest summary plus the plots'."""
        out = self.report.lines()
        rewards, heat = self.rewards, self.heatmap
        out.append(f"drawn    {rewards.sampling_line}")
        drawn = ", ".join(s.label for s in rewards.series.values()) or "none"
        out.append(f"rewards  drawn: {drawn}")
        if rewards.missing:
            out.append(f"rewards  not in these logs (not drawn): {', '.join(rewards.missing)}")
        table = str(self.map_table.path) if self.map_table and self.map_table.path else None
        out.append(f"map      {table or 'no map table found (see --map-data)'}")
        out.extend(f"note     {note}" for note in self.notes)
        placed = (
            f"{heat.placed_visits:,} placed on the Kanto map"
            if table
            else "none placed on the Kanto map"
        )
        unplaced = ""
        if heat.unplaced:
            ids = ", ".join(str(m) for m in heat.unplaced_map_ids)
            unplaced = (f"; {heat.unplaced_visits:,} on {len(heat.unplaced)} unplaced "
                        f"map{'s' if len(heat.unplaced) != 1 else ''} (ids {ids}), "
                        "drawn in their own panels")
        out.append(f"heatmap  {count(heat.total_visits, 'visit')}: {placed}{unplaced}")
        without = self.report.entries - heat.total_visits
        if without:
            has = "entry has" if without == 1 else "entries have"
            out.append(f"heatmap  {without:,} {has} no position (not in the heatmap)")
        out.extend(output_lines(self.paths, self.kept))
        out.append(f"time     {self.seconds:.2f} s in total")
        return out

    def file_lines(self) -> list[str]:
        """One line per log file (``pokeviz plot -v``), as ``pokeviz ingest -v`` prints."""
        return self.report.file_lines()


def plot_names(run: Run, fmt: str) -> tuple[str, str]:
    """The file names of a run's two figures in one format.

    Returns:
        ``({variant}_{timestamp}_rewards.{fmt}, {variant}_{timestamp}_heatmap.{fmt})``.
    """
    stem = f"{run.variant}_{run.timestamp}"
    return f"{stem}_rewards.{fmt}", f"{stem}_heatmap.{fmt}"


def plot_run(
    run: str | Path | Run | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
    output_dir: str | Path | None = None,
    formats: Sequence[str] = ("png",),
    smooth_window: int = 50,
    samples: int = 10_000,
    seed: int = 0,
    map_data: str | Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    update: bool = True,
    parallel: bool | None = None,
    redraw: bool = False,
) -> PlotResult:
    """Write a run's reward figure and Kanto heatmap (``pokeviz plot``).

    Args:
        run, variant, experiments_dir: which run, as for :func:`pokeviz.api.open_run`
            (a run or variant directory, a :class:`Run`, or with ``run=None`` the latest
            run of ``<experiments_dir>/<variant>``).
        output_dir: where to write (created); default ``<run>/plots/``.
        formats: one or more of ``png``, ``pdf``, ``svg``, ``html`` (an interactive,
            self-contained Plotly page of the same data).
        smooth_window: largest rolling-mean window over the samples (reduced to
            ``n_samples // 5`` when there are few).
        samples: reservoir rows shown in the reward figure.
        seed: picks the reservoir (0 = the standard one).
        map_data: the ``map_data.json``; default: ``POKEVIZ_MAP_DATA``, then a search
            near the run (see :func:`pokeviz.kanto.resolve_map_table`).
        jobs: ingest worker processes (results do not depend on it).
        progress: ``progress(done_bytes, total_bytes)`` during the ingest.
        update: bring the cache up to date first (the default). False plots the cache
            as it is (``pokeviz watch`` decides itself when a log file is read).
        parallel: draw the two figures in two processes (default: when safe, see
            :func:`pokeviz.plots.render.can_fork`); the bytes do not depend on it.
        redraw: draw every image again. By default an image whose data, title,
            format and drawing code are unchanged since it was written, and whose file
            still has those bytes, is kept as it is (:mod:`pokeviz.plots.memo`): drawing
            it again would give the same bytes.

    Returns:
        The :class:`PlotResult` (paths, the figures' data, placement counts).

    Raises:
        PokevizError: no such run, no log files, a bad map table, bad arguments;
            ``CacheError`` with ``update=False`` when there is no cache yet.
        OSError: the output folder cannot be written.

    Deterministic: the same logs and arguments give byte-identical files (PNG, PDF,
    SVG and HTML), whatever the file order or ``jobs`` of earlier ingests. A re-run on an
    unchanged run reads no log file; its cost is reading the sidecars and drawing.
    """
    started = time.perf_counter()
    formats = check_formats(formats, FORMATS, "plot format")
    if smooth_window < 1:
        raise PokevizError(f"--smooth-window must be at least 1, got {smooth_window}")
    if samples < 1:
        raise PokevizError(f"--samples must be at least 1, got {samples}")
    found = find_run(run, variant=variant, experiments_dir=experiments_dir)
    table, map_notes = resolve_map_table(found.path, map_data)
    with open_run(
        found, update=update, jobs=jobs, progress=progress, reservoir_size=samples, seed=seed
    ) as view:
        report = view.report
        rewards = reward_data(view.con, smooth_window=smooth_window)
        heat = heatmap_data(view.con, table)

    out_dir = Path(output_dir) if output_dir is not None else found.plots_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"{found.variant} · run {found.timestamp}"
    titles = (f"{title} · reward per episode so far", f"{title} · visits per tile")
    images = [f for f in formats if f in IMAGE_FORMATS]
    memo = FigureMemo(found.cache_dir, reuse=not redraw)
    written: dict[tuple[int, str], Path] = {}
    if images:
        targets = [[(out_dir / plot_names(found, fmt)[index], fmt) for fmt in images]
                   for index in (0, 1)]
        drawn = render_figures((rewards, titles[0], targets[0]),
                               (heat, titles[1], targets[1]), parallel=parallel, memo=memo)
        memo.save()
        for index in (0, 1):
            written.update(((index, fmt), path)
                           for fmt, path in zip(images, drawn[index], strict=True))
    if "html" in formats:
        from .interactive import heatmap_traces, reward_traces, write_html

        pages = (reward_traces(rewards, title=titles[0]), heatmap_traces(heat, title=titles[1]))
        for index, (page, kind) in enumerate(zip(pages, ("rewards", "heatmap"), strict=True)):
            written[index, "html"] = write_html(
                page, out_dir / plot_names(found, "html")[index], div_id=f"pokeviz-{kind}",
                title=titles[index])
    paths = [written[index, fmt] for index in (0, 1) for fmt in formats]
    return PlotResult(
        report=report,
        paths=paths,
        rewards=rewards,
        heatmap=heat,
        map_table=table,
        seconds=time.perf_counter() - started,
        notes=map_notes,
        kept=memo.kept,
    )
