"""Compare series for the dashboard: every variant's mean over runs with its 95 % band.

The numbers are those of ``pokeviz compare`` (:mod:`pokeviz.plots.compare`): each run's
per-file points from its views, the mean over runs on the common step grid and the
t-interval band, with the fixed variant colours. Only the cache is read; nothing is
ingested here (the watcher keeps the caches current).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CacheError
from ..kanto import MapTable
from .catalog import Catalog, cache_state
from .data import plain

if TYPE_CHECKING:
    from ..discover import Run


def _compare_module() -> Any:
    from ..plots import compare

    return compare


def metrics() -> tuple[str, ...]:
    """The compare metrics (``reward_total``, ``exploration``, ``badges``, …)."""
    return tuple(_compare_module().METRICS)


def colors(names: Sequence[str]) -> dict[str, str]:
    """The fixed variant colours of ``pokeviz compare`` (pass every variant name)."""
    return dict(_compare_module().variant_colors(list(names)))


def compare_state(runs: Sequence[Run]) -> tuple[Any, ...]:
    """The cache states of every run: compare answers are recomputed when one changes."""
    return tuple((str(r.path), cache_state(r)) for r in runs)


def series(catalog: Catalog, metric: str, table: MapTable | None,
           wanted: Sequence[str] | None = None) -> dict[str, Any]:
    """The compare view's data for one metric.

    Args:
        catalog: the served runs.
        metric: one of :func:`metrics`.
        table: the map table (exploration counts global tiles with it).
        wanted: variant names to compare (default: every variant with a cached run).

    Returns:
        ``{"metric", "title", "panels": [{"key", "title", "ylabel", "variants": [{"variant",
        "color", "label", "runs", "x", "mean", "low", "high", "run_series": [{"run", "x",
        "y"}]}]}], "notes", "step_range", "floor", "skipped"}``. Deterministic.

    Raises:
        ValueError: an unknown metric.
    """
    module = _compare_module()
    if metric not in module.METRICS:
        raise ValueError(f"unknown metric {metric!r}: use one of {', '.join(module.METRICS)}")
    runs = catalog.runs()
    names = sorted({r.variant for r in runs})
    colors = module.variant_colors(names)
    chosen = [n for n in (wanted or names) if n in names]
    compared = []
    skipped = []
    for name in chosen:
        v = module.VariantData(name=name, path=catalog.root / name, color=colors[name])
        for run in (r for r in runs if r.variant == name):
            try:
                with catalog.view(run) as view:
                    if view.report.entries:
                        v.runs.append(module.run_data(view, table))
                    else:
                        v.skipped.append(f"{run.timestamp}: no entries yet")
            except CacheError:
                v.skipped.append(f"{run.timestamp}: not cached yet")
        skipped += [f"{name}/{s}" for s in v.skipped]
        compared.append(v)
    fig = module.figure_data(metric, compared, table)
    panels = []
    for panel in fig.panels:
        out = []
        for s in panel.variants.values():
            out.append({
                "variant": s.variant, "color": s.color, "label": s.label, "runs": s.n_runs,
                "x": s.grid, "mean": s.mean, "low": s.low, "high": s.high,
                "run_series": [{"run": r.run.timestamp, "x": r.steps, "y": r.values}
                               for r in s.runs],
            })
        panels.append({"key": panel.key, "title": panel.title, "ylabel": panel.ylabel,
                       "variants": out})
    return plain({
        "metric": metric, "title": fig.title, "panels": panels, "notes": fig.notes,
        "step_range": fig.step_range, "floor": fig.floor, "skipped": skipped,
        "colors": colors,
    })
