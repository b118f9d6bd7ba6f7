"""PDF reports (``pokeviz report``, ``pokeviz compare --report``): figures and tables in one file.

A run's report holds a title page (variant, run, dates, files, entries, sampling ratio,
global step range, problems), the reward figure, the heatmap, the reward component
table and the exploration milestones. A comparison's report holds every comparison
figure and, per variant, its runs, the final score (mean ± 95 % CI over runs) and the
steps to each milestone. Every number comes from the runs' views through
:func:`pokeviz.api.open_run`, and every figure from the same data functions as
``pokeviz plot`` and ``pokeviz compare``.

The PDF is vector, its text is text (TrueType, ``pdf.fonttype`` 42: ``pdftotext`` finds
it) and it carries no date: the same logs and options give the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .api import IngestReport, RunView, find_run, open_run
from .discover import Run, file_seconds
from .kanto import MapTable, resolve_map_table
from .outputs import atomic_write
from .report_pages import Table, table_pages

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .plots.compare import CompareResult
    from .plots.rewards import RewardData

#: Resolution of the few raster parts of the pages (the reward figure's sample dots, the
#: heatmap's tiles): 150 dpi is sharp on screen and paper and costs half the time and
#: memory of the 300 dpi PNG figures. Everything else is vector.
RASTER_DPI = 150
#: A page is built only when it is written, so at most one figure is in memory.
PageMaker = Callable[[], "Figure | list[Figure]"]


@dataclass
class ReportResult:
    """What a report call did.

    Attributes:
        path: the PDF written.
        pages: its number of pages.
        report: the run's ingest report (None for a comparison report).
        notes: e.g. map tables the search skipped.
        seconds: wall time of the call.
    """

    path: Path
    pages: int
    report: IngestReport | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary ``pokeviz report`` prints: the ingest summary, then the PDF."""
        out = self.report.lines() if self.report is not None else []
        out.extend(f"note     {note}" for note in self.notes)
        out.append(f"report   {self.pages} pages")
        out.append(f"wrote    {self.path}")
        out.append(f"time     {self.seconds:.2f} s in total")
        return out


def report_name(run: Run) -> str:
    """``{variant}_{timestamp}_report.pdf``."""
    return f"{run.variant}_{run.timestamp}_report.pdf"


def compare_report_name(variant_names: Sequence[str]) -> str:
    """``compare_{v1-v2-…}_report.pdf`` (the names as compared)."""
    return f"compare_{'-'.join(variant_names)}_report.pdf"


def write_pdf(path: Path, pages: Iterable[PageMaker]) -> int:
    """Write pages into one PDF, atomically, with no date or producer in it.

    Args:
        path: the destination; its folder must exist.
        pages: functions that each build one page (or several); a page is drawn,
            written and dropped before the next is built.

    Returns:
        The number of pages written.

    Raises:
        OutputError: the file cannot be written.
    """
    from matplotlib.backends.backend_pdf import PdfPages

    from .plots.style import METADATA, theme

    count = 0

    def write(handle: Any) -> None:
        nonlocal count
        with theme(), PdfPages(handle, metadata=METADATA["pdf"]) as pdf:
            for make in pages:
                made = make()
                for fig in made if isinstance(made, list) else [made]:
                    pdf.savefig(fig, dpi=RASTER_DPI)
                    count += 1

    atomic_write(path, write)
    return count


# ---------------------------------------------------------------------------
# Run report


def _timestamp_text(name: str) -> str | None:
    """``20260101_010000`` → ``2026-01-01 01:00:00`` (None for other names)."""
    try:
        return datetime.strptime(name, "%Y%m%d_%H%M%S").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _unix_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _steps(first: int | None, last: int | None) -> str:
    return f"{first:,} … {last:,}" if first is not None and last is not None else "none"


def overview_rows(view: RunView, table: MapTable | None) -> list[tuple[str, str]]:
    """The title page's (what, value) rows of a run, from its report and views."""
    report, run = view.report, view.run
    seconds = [s for s in (file_seconds(r[0]) for r in report.file_rows) if s is not None]
    logs = (f"{_unix_text(min(seconds))} … {_unix_text(max(seconds))}"
            if seconds else "no unix seconds in the file names")
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items()))
    return [
        ("variant", run.variant),
        ("run", run.timestamp),
        ("run folder", str(run.path)),
        ("run started", _timestamp_text(run.timestamp) or "(the folder name is not a date)"),
        ("log files written", logs),
        ("log files", f"{report.files:,} ({statuses or 'none'})"),
        ("entries", f"{report.entries:,}"),
        ("sampling", f"reservoir of {report.reservoir:,} samples = {report.sampling_ratio:.2%} "
                     f"of entries (exact per-file statistics use every entry)"),
        ("global steps", _steps(report.first_global_step, report.last_global_step)),
        ("tiles", f"{report.unique_tiles:,} unique (map, x, y), {report.visits:,} visits"),
        ("map table", str(table.path) if table is not None and table.path else "none found"),
        ("made by", f"pokeviz {__version__}"),
    ]


def problem_rows(view: RunView) -> list[tuple[str, str, str]]:
    """Per log file with a problem or a warning: (file, status, what), in file order."""
    rows = view.con.execute(
        "SELECT file, status, error, warning, bad_values, skipped_entries FROM files "
        "WHERE status <> 'ok' OR warning IS NOT NULL OR bad_values > 0 OR skipped_entries > 0 "
        "ORDER BY file_order"
    ).fetchall()
    out = []
    for file, status, error, warning, bad, skipped in rows:
        what = [w for w in (error, warning) if w]
        if bad:
            what.append(f"{bad:,} values read as NULL")
        if skipped:
            what.append(f"{skipped:,} array items that are not objects skipped")
        out.append((file, status, "; ".join(what) or "-"))
    return out


def _number(value: float) -> str:
    return "-" if value != value else f"{value:,.3f}"


def component_table(rewards: RewardData) -> Table:
    """Per reward metric: the mean, min and max over the entries of the last file with it.

    Args:
        rewards: from :func:`pokeviz.plots.rewards.reward_data`.

    Returns:
        The table (total first, then the standard components, then extra ones); metrics
        absent from the whole run are named in a note, never shown as 0.
    """
    import numpy as np

    rows = []
    for series in rewards.series.values():
        have = np.flatnonzero(~np.isnan(series.mean))
        last = int(have[-1])
        rows.append((series.label, f"{len(have)} of {len(rewards.file_names)}",
                     rewards.file_names[last], _number(series.mean[last]),
                     _number(series.minimum[last]), _number(series.maximum[last])))
    notes = ["Final = the last log file (in file order) that has the component; mean, min "
             "and max are exact, over every entry of that file. Rewards are cumulative "
             "within an episode."]
    if rewards.missing:
        notes.append("Not in these logs (not shown as 0): "
                     + ", ".join(m.removeprefix("reward_") for m in rewards.missing) + ".")
    return Table(caption="Mean, min and max in the final log file (every entry)",
                 header=("component", "files", "final file", "mean", "min", "max"),
                 rows=rows or [("none", "-", "no reward values in these logs", "-", "-", "-")],
                 numeric=frozenset({3, 4, 5}), notes=notes)


def milestone_table(found: Sequence[Any], last_step: int | None) -> Table:
    """The first global step of every milestone (map reached, badge count), earliest first.

    Args:
        found: ``pokeviz.stats.milestones`` of the run.
        last_step: the run's last global step (for the share of training).
    """
    rows = []
    for m in sorted(found, key=lambda m: (m.first_global_step, m.kind, m.key)):
        share = f"{m.first_global_step / last_step:.1%}" if last_step else "-"
        rows.append((m.kind, str(m.key), m.label, f"{m.first_global_step:,}", share))
    return Table(
        caption="First global step of each map and badge count, earliest first",
        header=("kind", "key", "milestone", "first global step", "of training"),
        rows=rows or [("-", "-", "no position in these logs", "-", "-")],
        numeric=frozenset({1, 3, 4}),
        notes=["Maps are exact: the first global step at which any entry of any log file was "
               "on the map (names from the map table). A badge count k is placed within one "
               "log file: the first file whose maximum reached k, at its earliest sample "
               "with k badges (else the file's last step)."])


def report_run(
    run: str | Path | Run | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
    output_dir: str | Path | None = None,
    map_data: str | Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    update: bool = True,
) -> ReportResult:
    """Write a run's PDF report (``pokeviz report``).

    Args:
        run, variant, experiments_dir, output_dir, map_data: as for
            :func:`pokeviz.plots.plot_run` (the report goes where the figures go).
        jobs: ingest worker processes (results do not depend on it).
        progress: ``progress(done_bytes, total_bytes)`` during the ingest.
        update: bring the cache up to date first (default).

    Returns:
        The :class:`ReportResult`: ``<output>/{variant}_{timestamp}_report.pdf``, its
        page count and the ingest report.

    Raises:
        PokevizError: no such run, no log files, a bad map table; ``OutputError`` when
            the PDF cannot be written.

    Deterministic: the same logs and options give a byte-identical PDF. Cost: a warm
    ``pokeviz plot`` plus the tables (all from the views; no log file is read twice).
    """
    from .plots.heatmap import heatmap_data, heatmap_figure
    from .plots.rewards import reward_data, reward_figure
    from .stats import milestones

    started = time.perf_counter()
    found = find_run(run, variant=variant, experiments_dir=experiments_dir)
    table, notes = resolve_map_table(found.path, map_data)
    with open_run(found, update=update, jobs=jobs, progress=progress) as view:
        rewards = reward_data(view.con)
        heat = heatmap_data(view.con, table)
        overview = overview_rows(view, table)
        problems = problem_rows(view)
        reached = milestones(view, table)
        report = view.report
    title = f"{found.variant} · run {found.timestamp}"
    contents = ["Contents: 1 this overview and the problems · 2 rewards per episode · "
                "3 visits per tile · 4 reward components · 5 exploration milestones."]
    problem_table = Table(
        caption="Problems", header=("log file", "status", "what"),
        rows=problems or [("none", "-", "every log file was read completely")], wrap=2,
        notes=["A file with a problem keeps every complete entry before it; `pokeviz ingest "
               "-v` lists every file."])
    pages: list[PageMaker] = [
        lambda: table_pages(f"pokeviz report · {title}", [
            Table(caption="Run", header=None, rows=overview, wrap=1), problem_table,
        ], intro=contents),
        lambda: reward_figure(rewards, title=f"{title} · reward per episode so far"),
        lambda: heatmap_figure(heat, title=f"{title} · visits per tile"),
        lambda: table_pages("Reward components", [component_table(rewards)]),
        lambda: table_pages("Exploration milestones", [
            milestone_table(reached, report.last_global_step)]),
    ]
    out_dir = Path(output_dir) if output_dir is not None else found.plots_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / report_name(found)
    count = write_pdf(path, pages)
    return ReportResult(path=path, pages=count, report=report, notes=notes,
                        seconds=time.perf_counter() - started)


# ---------------------------------------------------------------------------
# Comparison report


def _mean_ci(values: Sequence[float], digits: int = 2) -> str:
    """``mean ± half-width`` of the 95 % t interval; one value: itself, ``no CI``."""
    import numpy as np

    from .stats.intervals import half_width

    if not values:
        return "-"
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{mean:,.{digits}f} (1 run, no CI)"
    return f"{mean:,.{digits}f} ± {half_width(values):,.{digits}f}"


#: Runs shown one per column in a variant's table; the mean and CI always use every run.
RUN_COLUMNS = 5


def variant_table(name: str, runs: Sequence[Any], reached: Sequence[Sequence[Any]]) -> Table:
    """One compared variant: per run and over runs, the final score and the milestones.

    Args:
        name: the variant.
        runs: its ``RunData`` (from ``CompareResult.variants``), oldest first.
        reached: per run, its ``pokeviz.stats.milestones``.

    Returns:
        Rows: final score (the exact per-file mean total reward of the run's last log
        file), entries, last global step, then the global step of each milestone any run
        reached (mean ± 95 % CI over the runs that reached it, and how many did).
    """
    shown = list(runs[:RUN_COLUMNS])
    header = ("", *(d.run.timestamp for d in shown), "mean ± 95 % CI", "runs")
    finals = [d.final("reward_total") for d in runs]
    rows = [(
        "final score",
        *("-" if f is None else f"{f:,.2f}" for f in finals[:RUN_COLUMNS]),
        _mean_ci([f for f in finals if f is not None]),
        f"{sum(f is not None for f in finals)} of {len(runs)}",
    ), (
        "entries", *(f"{d.report.entries:,}" for d in shown),
        _mean_ci([d.report.entries for d in runs], 0), f"{len(runs)} of {len(runs)}",
    ), (
        "last global step", *(f"{d.report.last_global_step or 0:,}" for d in shown),
        _mean_ci([d.report.last_global_step or 0 for d in runs], 0),
        f"{len(runs)} of {len(runs)}",
    )]
    steps: dict[tuple[str, str], dict[int, int]] = {}
    names: dict[tuple[str, str], str] = {}
    for i, found in enumerate(reached):
        for m in found:
            key = (m.kind, str(m.key))
            steps.setdefault(key, {})[i] = m.first_global_step
            names[key] = m.label
    import numpy as np

    order = sorted(steps, key=lambda k: (float(np.mean(list(steps[k].values()))), k))
    for key in order:
        per_run = steps[key]
        rows.append((
            f"steps to {names[key]}",
            *(f"{per_run[i]:,}" if i in per_run else "not reached" for i in range(len(shown))),
            _mean_ci(list(per_run.values()), 0), f"{len(per_run)} of {len(runs)}",
        ))
    notes = []
    if len(runs) > RUN_COLUMNS:
        notes.append(f"{len(runs) - RUN_COLUMNS} more runs are not shown one by one; the "
                     "means and intervals use every run.")
    numeric = frozenset(range(1, len(header)))
    return Table(caption=f"{name}: {len(runs)} run{'s' if len(runs) != 1 else ''}",
                 header=header, rows=rows, numeric=numeric, notes=notes)


def compare_report(
    result: CompareResult,
    *,
    experiments_dir: str | Path = "experiments",
    output_dir: str | Path | None = None,
) -> ReportResult:
    """Write the PDF report of a comparison (``pokeviz compare --report``).

    Args:
        result: what :func:`pokeviz.plots.compare.compare_variants` returned (its figures'
            data and its runs; the runs' caches are up to date).
        experiments_dir: the experiments folder compared.
        output_dir: where to write (created); default ``<experiments_dir>/plots/``.

    Returns:
        The :class:`ReportResult`: ``compare_{v1-v2-…}_report.pdf`` (the variants drawn,
        as the figures are named) and its page count.

    Raises:
        PokevizError: a run's cache cannot be read; ``OutputError`` when the PDF cannot
            be written.

    Deterministic: the same logs and options give a byte-identical PDF. Cost: every
    comparison figure drawn once more, plus each run's milestones from its views (the
    caches are read as they are, not updated again).
    """
    from .plots.compare import comparison_figure
    from .stats import milestones

    started = time.perf_counter()
    experiments = Path(experiments_dir)
    # Named like the comparison figures: after the variants drawn.
    names = [v.name for v in result.variants if v.usable] or [v.name for v in result.variants]
    tables = []
    summary = []
    for v in result.variants:
        reached = []
        for data in v.runs:
            with open_run(data.run, update=False) as view:
                reached.append(milestones(view, result.map_table))
        if v.runs:
            tables.append(variant_table(v.name, v.runs, reached))
        finals = [f for f in (d.final("reward_total") for d in v.runs) if f is not None]
        summary.append((v.name, str(len(v.runs)),
                        f"{sum(d.report.entries for d in v.runs):,}",
                        _mean_ci(finals) if v.runs else "no usable log files"))
    map_table = result.map_table
    overview = Table(
        caption="Variants", header=("variant", "runs", "entries", "final score (mean ± 95 % CI)"),
        rows=summary, numeric=frozenset({1, 2, 3}), notes=list(result.warnings))
    intro = [
        f"Experiments folder: {experiments.resolve()}",
        f"Figures: {', '.join(result.figures)}. Map table: "
        + (str(map_table.path) if map_table is not None and map_table.path else "none found")
        + f". Made by pokeviz {__version__}.",
    ]
    pages: list[PageMaker] = [
        lambda: table_pages(f"pokeviz comparison · {' · '.join(names)}", [overview],
                            intro=intro)]
    pages += [lambda fig=fig: comparison_figure(fig) for fig in result.figures.values()]
    if tables:
        pages.append(lambda: table_pages("Runs, final scores and milestones", tables, intro=[
            "Final score: the exact mean total reward over every entry of a run's last log "
            "file. Steps to a milestone: the first global step at which any entry was on "
            "the map (or had the badge count). Over runs: mean ± the half-width of the 95 % "
            "confidence interval (Student's t) over the runs that reached it."]))
    out_dir = Path(output_dir) if output_dir is not None else experiments / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / compare_report_name(names)
    count = write_pdf(path, pages)
    return ReportResult(path=path, pages=count, seconds=time.perf_counter() - started)
