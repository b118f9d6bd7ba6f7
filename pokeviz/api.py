"""The library functions behind every CLI command: a notebook can call the same."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from .cache import CacheUpdate, update_cache
from .cache import file_positions as cache_file_positions
from .discover import Run, printable, resolve_run
from .ingest import FAST_PATH_MAX_BYTES
from .query import RESERVOIR_SIZE, connect, run_sql
from .text import count


@dataclass
class IngestReport:
    """A run's state after an ingest: what was read and what the cache now holds."""

    run: Run
    update: CacheUpdate
    files: int = 0
    entries: int = 0
    samples: int = 0
    reservoir: int = 0
    first_global_step: int | None = None
    last_global_step: int | None = None
    unique_tiles: int = 0
    visits: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    #: per log file, in file order: (file, status, format, entries, bad_values,
    #: first_global_step, last_global_step, parser).
    file_rows: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def sampling_ratio(self) -> float:
        """Reservoir rows per entry (0 when there are no entries)."""
        return self.reservoir / self.entries if self.entries else 0.0

    def lines(self) -> list[str]:
        """The human summary printed at the end of ``pokeviz ingest``/``plot``.

        Files whose status is not ``ok`` are ``problem`` lines; ``ok`` files that still
        carry a message (e.g. a mix of formats) are ``warning`` lines, counted apart.
        """
        u = self.update
        steps = (
            f"{self.first_global_step:,} … {self.last_global_step:,}"
            if self.last_global_step is not None
            else "none"
        )
        statuses = ", ".join(f"{v} {k}" for k, v in sorted(self.statuses.items()))
        problems = [p for p in u.problems if p[1] != "ok"]
        warnings = [p for p in u.problems if p[1] == "ok"]
        found = count(len(problems), "problem")
        if warnings:
            found += f", {count(len(warnings), 'warning')}"
        out = [
            f"run      {self.run.variant}/{self.run.timestamp}  ({printable(str(self.run.path))})",
            f"files    {self.files:,} ({statuses or 'none'}); this update: {u.new} new, "
            f"{u.reread} re-read, {u.unchanged} unchanged, {u.removed} removed; {found}",
            f"entries  {self.entries:,}; samples {self.samples:,}; reservoir "
            f"{self.reservoir:,} ({self.sampling_ratio:.2%} of entries)",
            f"steps    global {steps}",
            f"tiles    {count(self.unique_tiles, 'unique tile')} (map, x, y), "
            f"{count(self.visits, 'visit')}",
            f"time     {u.elapsed_seconds:.2f} s",
        ]
        for note in u.notes:
            out.append(f"note     {note}")
        for name, status, message in problems:
            out.append(f"problem  {name}: {status}: {message}")
        for name, _, message in warnings:
            out.append(f"warning  {name}: {message}")
        return out

    def file_lines(self) -> list[str]:
        """One line per log file (the ``-v`` output): read now or cached, and its state."""
        ingested = set(self.update.ingested)
        out = []
        for name, status, fmt, entries, bad, first, last, parser in self.file_rows:
            how = "read  " if name in ingested else "cached"
            steps = f"{first:,} … {last:,}" if first is not None else "no entries"
            out.append(
                f"{how}   {name}: {entries:,} entries, {status}, {fmt or 'no format'}, "
                f"{bad} bad values, {parser}, global {steps}"
            )
        return out


def summarize(run: Run, update: CacheUpdate, con: duckdb.DuckDBPyConnection,
              reservoir_size: int) -> IngestReport:
    """Fill an :class:`IngestReport` from the run's views.

    ``reservoir_size`` is the size the ``reservoir`` view was made with: it holds
    ``min(reservoir_size, samples)`` rows by definition (a ``LIMIT`` on ``samples``), so
    it is not counted again (that would sort every sample).
    """
    report = IngestReport(run=run, update=update)
    files, entries, first, last = con.execute(
        "SELECT count(*), coalesce(sum(entries), 0), min(first_global_step), "
        "max(last_global_step) FROM files"
    ).fetchone()
    report.files, report.entries = int(files), int(entries)
    report.first_global_step, report.last_global_step = first, last
    report.samples = con.execute("SELECT count(*) FROM samples").fetchone()[0]
    report.reservoir = min(int(reservoir_size), report.samples)
    tiles, visits = con.execute(
        "SELECT count(*), coalesce(sum(visits), 0) FROM positions"
    ).fetchone()
    report.unique_tiles, report.visits = int(tiles), int(visits)
    report.statuses = dict(con.execute("SELECT status, count(*) FROM files GROUP BY 1").fetchall())
    report.file_rows = con.execute(
        "SELECT file, status, format, entries, bad_values, first_global_step, "
        "last_global_step, parser FROM files ORDER BY file_order"
    ).fetchall()
    return report


class RunView:
    """One run, its cache brought up to date, open for reading.

    The single road every surface takes (CLI, plots, compare, watch, serve, report,
    stats, animate): :func:`open_run` → ``RunView``. Close it (or use ``with``) when done.

    Attributes:
        run: the run.
        con: a read-only DuckDB connection on the run's views (``files``, ``samples``,
            ``reservoir``, ``positions``, ``tiles``, ``file_stats``); file access is off.
    """

    def __init__(self, run: Run, update: CacheUpdate, con: duckdb.DuckDBPyConnection,
                 reservoir_size: int) -> None:
        self.run = run
        self.con = con
        self._update = update
        self._reservoir_size = reservoir_size
        self._report: IngestReport | None = None

    @property
    def report(self) -> IngestReport:
        """What the update read and what the cache holds (counts, step range, tiles,
        per-file rows): the summary totals. Computed from the views on first use, so a
        caller that only queries (``pokeviz sql``) does not pay for it."""
        if self._report is None:
            self._report = summarize(self.run, self._update, self.con, self._reservoir_size)
        return self._report

    @property
    def update(self) -> CacheUpdate:
        """What bringing the cache up to date did (empty with ``update=False``)."""
        return self._update

    def file_positions(self, files: Iterable[str]) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        """Exact visits per tile of single log files, one file at a time.

        The views sum the positions over every file; a caller that needs each file's own
        visits (``pokeviz animate``) walks the files with this, so memory holds one
        file's distinct tiles at a time, never the run's entries. The sidecar read is
        the one the views were loaded from (the file's size and mtime in ``files``).

        Args:
            files: log file names of the ``files`` view, in the order wanted.

        Yields:
            ``(file, {"map", "x", "y", "visits": int64 arrays})`` per file, in order.

        Raises:
            CacheError: a name is not in the cache.
        """
        return cache_file_positions(self.run, files)

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def __enter__(self) -> RunView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_run(
    run: str | Path | Run | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
) -> Run:
    """A :class:`Run` as given, or the one a path or ``variant`` names (see ``resolve_run``)."""
    if isinstance(run, Run):
        return run
    return resolve_run(run, variant=variant, experiments_dir=experiments_dir)


def open_run(
    run: str | Path | Run | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
    update: bool = True,
    jobs: int | None = None,
    only: Collection[str] | None = None,
    rebuild: bool = False,
    progress: Callable[[int, int], Any] | None = None,
    reservoir_size: int = RESERVOIR_SIZE,
    seed: int = 0,
    fast_path_max_bytes: int = FAST_PATH_MAX_BYTES,
    order: Callable[[list[Path]], Iterable[Path]] | None = None,
    executor: Executor | None = None,
) -> RunView:
    """Bring a run's cache up to date, open its views and summarize them.

    Args:
        run: a run directory, a variant directory (its latest run) or a :class:`Run`.
        variant, experiments_dir: with ``run=None``, the latest run of
            ``<experiments_dir>/<variant>``.
        update: bring the cache up to date first (default). False reads the cache as it
            is (``CacheError`` when there is none).
        jobs: ingest worker processes (default: CPU cores); results do not depend on it.
        only: read only these new or changed log file names (``pokeviz watch``).
        rebuild: read every log file again.
        progress: ``progress(done_bytes, total_bytes)`` during the ingest.
        reservoir_size, seed: the ``reservoir`` view's size and which sample it holds.
        fast_path_max_bytes, order: see :func:`pokeviz.cache.update_cache`.
        executor: read the stale files on it instead of ``jobs`` local processes, e.g.
            a Dask cluster's (:func:`pokeviz.cluster.cluster_executor`); same cache.

    Returns:
        A :class:`RunView`: the run, its :class:`IngestReport` and the connection.

    Raises:
        PokevizError: the run cannot be found or has no log files; ``CacheError`` for a
            cache that cannot be read.

    Example::

        with pokeviz.open_run("experiments/v4") as view:
            print(view.report.entries)
            view.con.sql("SELECT map, sum(visits) FROM positions GROUP BY map").show()
    """
    found = find_run(run, variant=variant, experiments_dir=experiments_dir)
    done = (
        update_cache(
            found,
            jobs=jobs,
            only=only,
            rebuild=rebuild,
            progress=progress,
            fast_path_max_bytes=fast_path_max_bytes,
            order=order,
            executor=executor,
        )
        if update
        else CacheUpdate()
    )
    con = connect(found, reservoir_size=reservoir_size, seed=seed)
    return RunView(found, done, con, reservoir_size)


def ingest(
    run: str | Path | Run | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
    jobs: int | None = None,
    rebuild: bool = False,
    fast_path_max_bytes: int = FAST_PATH_MAX_BYTES,
    order: Callable[[list[Path]], Iterable[Path]] | None = None,
    progress: Callable[[int, int], Any] | None = None,
    reservoir_size: int = RESERVOIR_SIZE,
    executor: Executor | None = None,
) -> IngestReport:
    """Bring a run's cache up to date and summarize it (``pokeviz ingest``).

    Args:
        run, variant, experiments_dir, jobs, rebuild, fast_path_max_bytes, order,
            progress, reservoir_size, executor: as for :func:`open_run`.

    Returns:
        The report (counts, step range, tiles, problems).

    Raises:
        PokevizError: the run cannot be found or has no log files.
    """
    with open_run(
        run,
        variant=variant,
        experiments_dir=experiments_dir,
        jobs=jobs,
        rebuild=rebuild,
        fast_path_max_bytes=fast_path_max_bytes,
        order=order,
        progress=progress,
        reservoir_size=reservoir_size,
        executor=executor,
    ) as view:
        return view.report


def sql(
    run: str | Path | Run,
    query: str,
    *,
    update: bool = True,
    jobs: int | None = None,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one SQL query on a run's views (``pokeviz sql``); returns (columns, rows).

    The views cannot change the cache and file access is off: ``COPY … TO`` fails.

    Raises:
        QueryError: the query failed.
    """
    with open_run(run, update=update, jobs=jobs) as view:
        columns, rows, _ = run_sql(view.con, query, max_rows=None)
        return columns, rows


def update_run(
    run: str | Path | Run,
    *,
    jobs: int | None = None,
    only: Collection[str] | None = None,
) -> CacheUpdate:
    """Bring a run's cache up to date without opening its views (``watch``, ``serve``).

    The same update as :func:`open_run` does first, for callers that read the cache
    later or not at all: no DuckDB connection and no summary are made.

    Args:
        run: a run directory, a variant directory (its latest run) or a :class:`Run`.
        jobs: ingest worker processes (default: CPU cores); results do not depend on it.
        only: read only these new or changed log file names (see ``update_cache``).

    Returns:
        What the update did (files read, removed, problems).

    Raises:
        PokevizError: the run cannot be found or has no log files; ``CacheError`` for a
            cache that cannot be written.
    """
    return update_cache(find_run(run), jobs=jobs, only=only)
