"""Find runs and their log files: experiments/ → variants → runs → stats_*.json in file order."""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import NoLogFilesError, RunNotFoundError

#: A run directory is named for the time training started.
RUN_NAME = re.compile(r"^\d{8}_\d{6}$")
#: ``stats_<unix_seconds>.json`` and ``stats_final_<unix_seconds>.json``.
LOG_NAME = re.compile(r"^stats_(?:final_)?(\d+)\.json$")
LOG_GLOB = "stats_*.json"


def printable(name: str) -> str:
    """A file or folder name (or a line naming one) as text: bytes that are not UTF-8
    are shown escaped, ``run\\xff``.

    ``os.listdir`` hands such bytes over as lone surrogates (PEP 383): they can be kept
    in JSON and used to open the file, but not in Parquet, DuckDB, a figure title or a
    terminal, so those get this form.
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Run:
    """One training run: ``<experiments>/<variant>/<timestamp>/``."""

    path: Path

    @property
    def variant(self) -> str:
        """The run's parent folder name (``v1`` … ``v4`` or any name), printable."""
        return printable(self.path.parent.name)

    @property
    def timestamp(self) -> str:
        """The run folder name, normally ``YYYYMMDD_HHMMSS``, printable."""
        return printable(self.path.name)

    @property
    def logs_dir(self) -> Path:
        """The folder the training callback writes ``stats_*.json`` into."""
        return self.path / "json_logs"

    @property
    def plots_dir(self) -> Path:
        """Where plots go by default; the cache lives in its ``.cache/`` subfolder."""
        return self.path / "plots"

    @property
    def cache_dir(self) -> Path:
        """The Parquet cache of this run (see ``cache/README.md``)."""
        return self.plots_dir / ".cache"


def file_order_key(name: str) -> tuple[int, int, str]:
    """Sort key of a log file name: its ``<unix_seconds>`` number, ties broken by name.

    Names without a number (``stats_foo.json``) sort after every numbered file.
    """
    match = LOG_NAME.match(name)
    if match is None:
        return (1, 0, name)
    return (0, int(match.group(1)), name)


def file_seconds(name: str) -> int | None:
    """The ``<unix_seconds>`` number in a log file name, or None when it has none."""
    match = LOG_NAME.match(name)
    return int(match.group(1)) if match else None


def list_log_files(run: Run) -> list[Path]:
    """The run's ``stats_*.json`` files in file order (may be empty).

    Every entry named ``stats_*.json`` that is not a folder is listed, FIFOs and other
    non-regular files too: ingest gives them a status row instead of hiding them.

    Raises:
        NoLogFilesError: the run has no ``json_logs/`` folder, or it cannot be listed
            (a listing failure is never "no files": that would drop the whole cache).
    """
    files = list(_log_files(run))
    return sorted(files, key=lambda p: file_order_key(p.name))


def has_log_files(run: Run) -> bool:
    """Whether :func:`list_log_files` would list anything; stops at the first file.

    Raises:
        NoLogFilesError: as :func:`list_log_files`.
    """
    return next(_log_files(run), None) is not None


def _log_files(run: Run) -> Iterator[Path]:
    """The log files of :func:`list_log_files`, in directory order (the one rule)."""
    try:
        with os.scandir(run.logs_dir) as entries:
            for entry in entries:
                if fnmatch.fnmatchcase(entry.name, LOG_GLOB) and not _is_dir(entry):
                    yield Path(entry.path)
    except FileNotFoundError:
        raise NoLogFilesError(
            f"{run.logs_dir}: no json_logs/ folder; is {run.path} a training run directory?"
        ) from None
    except NotADirectoryError:
        raise NoLogFilesError(
            f"{run.logs_dir}: not a folder; is {run.path} a training run directory?"
        ) from None
    except OSError as exc:
        raise NoLogFilesError(
            f"{run.logs_dir}: cannot be listed ({exc.strerror or exc}); check its permissions"
        ) from exc


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def is_run(path: Path) -> bool:
    """Whether ``path`` is a run: any folder holding a ``json_logs/`` folder."""
    return (path / "json_logs").is_dir()


def run_time_key(run: Run) -> tuple[float, str]:
    """When a run started, for ordering a variant's runs: the latest has the greatest key.

    A ``YYYYMMDD_HHMMSS`` name is read as local time. Any other name is placed by its
    newest log file: the ``<unix_seconds>`` of the greatest log name, else the
    modification time of its ``json_logs/`` folder. Ties are broken by name.
    """
    if RUN_NAME.match(run.path.name):
        try:
            return (time.mktime(time.strptime(run.path.name, "%Y%m%d_%H%M%S")), run.path.name)
        except (ValueError, OverflowError):
            pass  # not a real date (20261399_000000): placed by its log files
    try:
        names = [e.name for e in os.scandir(run.logs_dir) if LOG_NAME.match(e.name)]
    except OSError:
        names = []
    if names:
        newest = max(names, key=file_order_key)
        return (float(file_seconds(newest) or 0), run.path.name)
    try:
        return (run.logs_dir.stat().st_mtime, run.path.name)
    except OSError:
        return (0.0, run.path.name)


def runs_of_variant(variant_dir: Path) -> list[Run]:
    """Every run of a variant, oldest first (see :func:`run_time_key`).

    A run is any sub-folder holding ``json_logs/`` (see :func:`is_run`), whatever its
    name; a folder without it (say, one whose logs were deleted) is not a run.
    """
    try:
        children = sorted(p for p in variant_dir.iterdir() if p.is_dir() and is_run(p))
    except OSError:
        return []
    return sorted((Run(p) for p in children), key=run_time_key)


def latest_run(variant_dir: Path) -> Run | None:
    """The latest run of a variant (see :func:`runs_of_variant`), or None when it has none."""
    runs = runs_of_variant(variant_dir)
    return runs[-1] if runs else None


def variants(experiments_dir: Path) -> list[Path]:
    """Every variant folder under ``experiments_dir`` (a folder holding at least one run)."""
    try:
        children = sorted(p for p in experiments_dir.iterdir() if p.is_dir())
    except OSError:
        return []
    return [p for p in children if not is_run(p) and runs_of_variant(p)]


def resolve_run(
    run: str | Path | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
    require_logs: bool = True,
) -> Run:
    """Turn what a user typed into one run.

    Args:
        run: a run directory, or a variant directory (its latest run is taken).
        variant: with ``run=None``, the latest run of ``<experiments_dir>/<variant>``.
        experiments_dir: where variants live (default ``./experiments``).
        require_logs: also check that the run has ``json_logs/stats_*.json`` files.

    Returns:
        The run. "Latest" is the last of :func:`runs_of_variant`: the greatest
        ``YYYYMMDD_HHMMSS`` name, or for other names the newest log file.

    Raises:
        RunNotFoundError: the path does not exist, or a variant folder has no run.
        NoLogFilesError: ``require_logs`` and the run has no log files.
    """
    if run is None:
        if variant is None:
            raise RunNotFoundError("no run given: pass a RUN directory or --variant NAME")
        path = Path(experiments_dir) / variant
        if not path.exists():
            raise RunNotFoundError(
                f"{path}: no such variant folder; check --variant and --experiments-dir"
            )
    else:
        path = Path(run)
        if not path.exists():
            raise RunNotFoundError(f"{path}: no such directory; pass a run or variant directory")
    if not path.is_dir():
        raise RunNotFoundError(f"{path}: not a directory; pass a run or variant directory")
    if not (path / "json_logs").exists():
        latest = latest_run(path)
        if latest is not None:
            path = latest.path
        elif require_logs:
            raise NoLogFilesError(
                f"{path}: no json_logs/ folder and no run folders (sub-folders holding "
                "json_logs/); pass a run directory (the one holding json_logs/)"
            )
    found = Run(path.resolve())
    if require_logs and not has_log_files(found):
        raise NoLogFilesError(
            f"{found.logs_dir}: no stats_*.json log files yet; has training written a rollout?"
        )
    return found
