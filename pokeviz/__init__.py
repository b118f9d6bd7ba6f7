"""pokeviz: plots, a Parquet cache and SQL for Pokémon Red RL training logs."""

from __future__ import annotations

__version__ = "0.1.0"

from .api import IngestReport, RunView, ingest, open_run, sql  # noqa: E402
from .discover import Run, resolve_run  # noqa: E402
from .errors import (  # noqa: E402
    CacheError,
    MapTableError,
    NoLogFilesError,
    PokevizError,
    QueryError,
    RunNotFoundError,
)
from .ingest import FileSummary, ingest_file  # noqa: E402
from .plots import PlotResult, plot_run  # noqa: E402
from .plots.compare import CompareResult, compare_variants  # noqa: E402

__all__ = [
    "CacheError",
    "CompareResult",
    "FileSummary",
    "IngestReport",
    "MapTableError",
    "NoLogFilesError",
    "PlotResult",
    "PokevizError",
    "QueryError",
    "Run",
    "RunNotFoundError",
    "RunView",
    "__version__",
    "compare_variants",
    "ingest",
    "ingest_file",
    "open_run",
    "plot_run",
    "resolve_run",
    "sql",
]
