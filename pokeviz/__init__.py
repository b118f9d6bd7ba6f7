"""pokeviz: plots, a Parquet cache and SQL for Pokémon Red RL training logs.

The figure, report and statistics functions are imported on first use, so ``pokeviz
sql`` does not pay for matplotlib or the statistics libraries it never touches.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Eager: importing .api imports the submodule pokeviz.ingest first, so the name
# ``ingest`` ends up bound to the function, not to the module.
from .api import IngestReport, RunView, ingest, open_run, sql  # noqa: E402
from .discover import Run, resolve_run  # noqa: E402
from .errors import (  # noqa: E402
    CacheError,
    MapTableError,
    NoLogFilesError,
    OutputError,
    PokevizError,
    QueryError,
    RunNotFoundError,
)
from .ingest import FileSummary, ingest_file  # noqa: E402

#: Public names imported on first use → the module that defines them.
_EXPORTS = {
    "PlotResult": "plots",
    "plot_run": "plots",
    "CompareResult": "plots.compare",
    "compare_variants": "plots.compare",
    "report_run": "report",
    "animate_run": "animate",
    "variant_stats": "stats",
}

__all__ = [
    "__version__",
    "CacheError",
    "CompareResult",
    "FileSummary",
    "IngestReport",
    "MapTableError",
    "NoLogFilesError",
    "OutputError",
    "PlotResult",
    "PokevizError",
    "QueryError",
    "Run",
    "RunNotFoundError",
    "RunView",
    "animate_run",
    "compare_variants",
    "ingest",
    "ingest_file",
    "open_run",
    "plot_run",
    "report_run",
    "resolve_run",
    "sql",
    "variant_stats",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pokeviz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from .animate import animate_run
    from .plots import PlotResult, plot_run
    from .plots.compare import CompareResult, compare_variants
    from .report import report_run
    from .stats import variant_stats
