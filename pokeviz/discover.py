"""Find runs and their log files: experiments/ → variants → runs → stats_*.json in file order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import NoLogFilesError, RunNotFoundError

#: A run directory is named for the time training started.
RUN_NAME = re.compile(r"^\d{8}_\d{6}$")
#: ``stats_<unix_seconds>.json`` and ``stats_final_<unix_seconds>.json``.
LOG_NAME = re.compile(r"^stats_(?:final_)?(\d+)\.json$")
LOG_GLOB = "stats_*.json"


@dataclass(frozen=True)
class Run:
    """One training run: ``<experiments>/<variant>/<timestamp>/``."""

    path: Path

    @property
    def variant(self) -> str:
        """The run's parent folder name (``v1`` … ``v4`` or any name)."""
        return self.path.parent.name

    @property
    def timestamp(self) -> str:
        """The run folder name, normally ``YYYYMMDD_HHMMSS``."""
        return self.path.name

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

    Raises:
        NoLogFilesError: the run has no ``json_logs/`` folder.
    """
    if not run.logs_dir.is_dir():
        raise NoLogFilesError(
            f"{run.logs_dir}: no json_logs/ folder; is {run.path} a training run directory?"
        )
    files = [p for p in run.logs_dir.glob(LOG_GLOB) if p.is_file()]
    return sorted(files, key=lambda p: file_order_key(p.name))


def runs_of_variant(variant_dir: Path) -> list[Run]:
    """Every run folder (timestamp name) of a variant, oldest first."""
    if not variant_dir.is_dir():
        return []
    return [Run(p) for p in sorted(variant_dir.iterdir()) if p.is_dir() and RUN_NAME.match(p.name)]


def variants(experiments_dir: Path) -> list[Path]:
    """Every variant folder under ``experiments_dir`` (a folder holding at least one run)."""
    if not experiments_dir.is_dir():
        return []
    return [p for p in sorted(experiments_dir.iterdir()) if p.is_dir() and runs_of_variant(p)]


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
        The run. "Latest" is the greatest timestamp folder name.

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
        runs = runs_of_variant(path)
        if runs:
            path = runs[-1].path
        elif require_logs:
            raise NoLogFilesError(
                f"{path}: no json_logs/ folder and no YYYYMMDD_HHMMSS run folders; "
                "pass a run directory (the one holding json_logs/)"
            )
    found = Run(path.resolve())
    if require_logs and not list_log_files(found):
        raise NoLogFilesError(
            f"{found.logs_dir}: no stats_*.json log files yet; has training written a rollout?"
        )
    return found
