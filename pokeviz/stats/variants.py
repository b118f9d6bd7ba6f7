"""Variants → runs → one open view each: the loop ``compare`` and ``stats`` share.

Run discovery is :mod:`pokeviz.discover`'s (a run is a folder holding ``json_logs/``;
the latest is the last of ``runs_of_variant``); each run's data comes through
:func:`pokeviz.api.open_run`, which brings its cache up to date first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..api import RunView, open_run
from ..discover import Run, latest_run, list_log_files, runs_of_variant
from ..discover import variants as variant_dirs
from ..errors import NoLogFilesError, PokevizError, RunNotFoundError

#: ``--runs`` choices: every run of a variant, or only its latest.
RUN_CHOICES = ("all", "latest")

T = TypeVar("T")


@dataclass
class VariantRuns(Generic[T]):
    """One variant: what was read from each usable run, and why other runs were skipped.

    Attributes:
        name, path: the variant folder's name and path.
        runs: ``read(view)`` of every run with at least one entry, oldest run first.
        skipped: one reason per run not read (no log files, no complete entry, …).
    """

    name: str
    path: Path
    runs: list[T] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when at least one run has entries."""
        return bool(self.runs)


def variant_names(experiments: Path, variants: Sequence[str] | None) -> tuple[list[str],
                                                                             list[str]]:
    """The variants to read and every variant found.

    Args:
        experiments: the experiments folder.
        variants: names wanted, in order (duplicates dropped); None or empty: all.

    Returns:
        ``(names, found)``: the names to read, and every variant folder holding a run
        (sorted), so colours can be ranked over all of them.

    Raises:
        RunNotFoundError: no such experiments folder, no variant in it, or a named
            variant folder is missing (the message lists the variants there).
    """
    if not experiments.is_dir():
        raise RunNotFoundError(f"{experiments}: no such experiments folder; "
                               "pass --experiments-dir DIR (the folder holding v1/, v2/, …)")
    found = [p.name for p in variant_dirs(experiments)]
    names = list(dict.fromkeys(variants)) if variants else found
    if not names:
        raise RunNotFoundError(f"{experiments}: no variant folders with runs "
                               "(<variant>/<run>/json_logs/)")
    for name in names:
        if not (experiments / name).is_dir():
            raise RunNotFoundError(
                f"{experiments / name}: no such variant folder; variants here: "
                f"{', '.join(found) or 'none'}")
    return names, found


def empty_run_reason(view: RunView) -> str:
    """Why a run with log files has no entry: still being written, or broken files.

    A file cut off before its first entry is ``partial`` ("no complete entry yet"); a
    file that is not a JSON array of entries is ``error`` or ``empty`` and is named with
    its status and message, as ``pokeviz ingest`` reports it.
    """
    rows = view.con.execute(
        "SELECT file, status, error FROM files ORDER BY file_order").fetchall()
    partial = sum(1 for _, status, _ in rows if status == "partial")
    parts = []
    if partial:
        files = "1 log file has" if partial == 1 else f"{partial} log files have"
        parts.append(f"its {files} no complete entry yet")
    for name, status, error in rows:
        if status not in ("ok", "partial"):
            parts.append(f"{name}: {status}" + (f": {error}" if error else ""))
    if not parts:
        files = "1 log file has" if len(rows) == 1 else f"{len(rows)} log files have"
        parts.append(f"its {files} no entries")
    return "; ".join(parts)


def load_variants(
    names: Sequence[str],
    experiments: Path,
    read: Callable[[RunView], T],
    *,
    runs: str = "all",
    jobs: int | None = None,
    progress: Callable[[Run, int, int], Any] | None = None,
    executor: Executor | None = None,
) -> tuple[list[VariantRuns[T]], list[str], int]:
    """Open every run of every named variant and keep what ``read`` takes from it.

    Args:
        names: variant folder names under ``experiments`` (see :func:`variant_names`).
        experiments: the experiments folder.
        read: called with each run's open :class:`~pokeviz.api.RunView` (only runs
            with at least one entry); its result is kept. The view is closed after.
        runs: ``"all"`` or ``"latest"`` (:data:`RUN_CHOICES`).
        jobs: ingest worker processes per run (results do not depend on it).
        progress: ``progress(run, done_bytes, total_bytes)`` during each run's ingest.
        executor: read stale log files on it (one Dask cluster for every run, see
            :func:`pokeviz.cluster.cluster_executor`) instead of ``jobs`` processes.

    Returns:
        ``(variants, warnings, files_read)``: one :class:`VariantRuns` per name in
        order; one warning per variant with skipped runs; log files read by the ingests.

    Raises:
        PokevizError: an unknown ``runs`` value.

    Cost: one cache update (only new or changed files are read) and one DuckDB
    connection per run, one run at a time. Deterministic.
    """
    if runs not in RUN_CHOICES:
        raise PokevizError(f"--runs must be one of {', '.join(RUN_CHOICES)}, got {runs!r}")
    out: list[VariantRuns[T]] = []
    warnings: list[str] = []
    files_read = 0
    for name in names:
        v: VariantRuns[T] = VariantRuns(name=name, path=experiments / name)
        if runs == "latest":
            latest = latest_run(v.path)
            candidates = [latest] if latest is not None else []
        else:
            candidates = runs_of_variant(v.path)
        if not candidates:
            v.skipped.append(f"no runs (folders holding json_logs/) in {v.path}")
        for run in candidates:
            run = Run(run.path.resolve())
            try:
                logs = list_log_files(run)
            except NoLogFilesError as exc:
                v.skipped.append(f"run {run.timestamp}: {exc}")
                continue
            if not logs:
                v.skipped.append(f"run {run.timestamp}: {run.logs_dir}: no stats_*.json files")
                continue
            with open_run(run, jobs=jobs, executor=executor, progress=(
                    None if progress is None else lambda d, t, r=run: progress(r, d, t))) as view:
                files_read += len(view.report.update.ingested)
                if view.report.entries:
                    v.runs.append(read(view))
                else:
                    v.skipped.append(f"run {run.timestamp}: {empty_run_reason(view)}")
        if not v.usable:
            warnings.append(f"variant {name}: no usable log files in {v.path} (not drawn): "
                            + "; ".join(v.skipped))
        elif v.skipped:
            warnings.append(f"variant {name}: {len(v.skipped)} run(s) skipped: "
                            + "; ".join(v.skipped))
        out.append(v)
    return out, warnings, files_read
