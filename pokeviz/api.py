"""The library functions behind every CLI command: a notebook can call the same."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .cache import CacheUpdate, update_cache
from .discover import Run, resolve_run
from .ingest import FAST_PATH_MAX_BYTES
from .query import RESERVOIR_SIZE, connect, run_sql


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
        """The human summary printed at the end of ``pokeviz ingest``/``plot``."""
        u = self.update
        steps = (
            f"{self.first_global_step:,} … {self.last_global_step:,}"
            if self.last_global_step is not None
            else "none"
        )
        statuses = ", ".join(f"{v} {k}" for k, v in sorted(self.statuses.items()))
        out = [
            f"run      {self.run.variant}/{self.run.timestamp}  ({self.run.path})",
            f"files    {self.files} ({statuses or 'none'}); this update: {u.new} new, "
            f"{u.reread} re-read, {u.unchanged} unchanged, {u.removed} removed, "
            f"{len([p for p in u.problems if p[1] != 'ok'])} problem",
            f"entries  {self.entries:,}; samples {self.samples:,}; reservoir "
            f"{self.reservoir:,} ({self.sampling_ratio:.2%} of entries)",
            f"steps    global {steps}",
            f"tiles    {self.unique_tiles:,} unique (map, x, y), {self.visits:,} visits",
            f"time     {u.elapsed_seconds:.2f} s",
        ]
        for note in u.notes:
            out.append(f"note     {note}")
        for name, status, message in u.problems:
            out.append(f"problem  {name}: {status}: {message}")
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


def summarize(run: Run, update: CacheUpdate, con: duckdb.DuckDBPyConnection) -> IngestReport:
    """Fill an :class:`IngestReport` from the run's views."""
    report = IngestReport(run=run, update=update)
    files, entries, first, last = con.execute(
        "SELECT count(*), coalesce(sum(entries), 0), min(first_global_step), "
        "max(last_global_step) FROM files"
    ).fetchone()
    report.files, report.entries = int(files), int(entries)
    report.first_global_step, report.last_global_step = first, last
    report.samples = con.execute("SELECT count(*) FROM samples").fetchone()[0]
    report.reservoir = con.execute("SELECT count(*) FROM reservoir").fetchone()[0]
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
) -> IngestReport:
    """Bring a run's cache up to date and summarize it (``pokeviz ingest``).

    Args:
        run: a run or variant directory (or a :class:`Run`); see ``resolve_run``.
        variant, experiments_dir: find the latest run of a variant instead.
        jobs: worker processes (default: CPU cores). Results do not depend on it.
        rebuild: read every log file again.
        fast_path_max_bytes, order, progress: see :func:`pokeviz.cache.update_cache`.
        reservoir_size: rows of the ``reservoir`` view counted in the report.

    Returns:
        The report (counts, step range, tiles, problems).

    Raises:
        PokevizError: the run cannot be found or has no log files.
    """
    found = (
        run
        if isinstance(run, Run)
        else resolve_run(run, variant=variant, experiments_dir=experiments_dir)
    )
    update = update_cache(
        found,
        jobs=jobs,
        rebuild=rebuild,
        fast_path_max_bytes=fast_path_max_bytes,
        order=order,
        progress=progress,
    )
    con = connect(found, reservoir_size=reservoir_size)
    try:
        return summarize(found, update, con)
    finally:
        con.close()


def open_run(
    run: str | Path | Run | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
    update: bool = True,
    jobs: int | None = None,
    reservoir_size: int = RESERVOIR_SIZE,
    seed: int = 0,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection on a run's views, its cache brought up to date first.

    Example::

        con = pokeviz.open_run("experiments/v4")
        con.sql("SELECT map, sum(visits) FROM positions GROUP BY map").show()
    """
    found = (
        run
        if isinstance(run, Run)
        else resolve_run(run, variant=variant, experiments_dir=experiments_dir)
    )
    if update:
        update_cache(found, jobs=jobs)
    return connect(found, reservoir_size=reservoir_size, seed=seed)


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
    con = open_run(run, update=update, jobs=jobs)
    try:
        return run_sql(con, query)
    finally:
        con.close()
