"""``pokeviz stats`` as one function: read the runs, score them, aggregate, draw."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..discover import Run
from ..errors import NoLogFilesError
from ..kanto import MapTable, resolve_map_table
from ..outputs import check_formats
from .aggregate import DEFAULT_REPS, Aggregate, Improvement, aggregate, probability_of_improvement
from .curves import EfficiencyCurve, efficiency_curve
from .milestones import MilestoneSummary, milestone_summary
from .scores import DEFAULT_METRIC, TARGETS, RunScores, check_metric, parse_at, read_run, scores_at
from .variants import load_variants, variant_names

#: Figure formats ``pokeviz stats`` can write.
FIGURE_FORMATS = ("png", "pdf", "svg")


@dataclass
class StatsResult:
    """Everything ``pokeviz stats`` computed.

    Attributes:
        metric, at: the metric and where each run was scored (``"final"`` or a step).
        variants: the variants compared, in order (those with a usable run).
        runs: every run read, variant by variant.
        scores: per variant, its runs' scores at ``at`` (runs left out are missing).
        aggregates: one :class:`Aggregate` per variant with at least one score.
        improvement: P(X > Y) for every ordered pair of those variants.
        milestones: per variant, steps to each milestone over its runs.
        curves: per variant, its sample-efficiency curve.
        warnings: runs or variants left out, missing intervals, map-table notes.
        paths: figures written.
        files_read: log files read by the ingests of this call.
        seconds: wall time.
    """

    metric: str
    at: str | int
    variants: list[str]
    runs: list[RunScores]
    scores: dict[str, np.ndarray]
    aggregates: list[Aggregate]
    improvement: list[Improvement]
    milestones: dict[str, list[MilestoneSummary]]
    curves: dict[str, EfficiencyCurve]
    map_table: MapTable | None = None
    warnings: list[str] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    files_read: int = 0
    seconds: float = 0.0

    @property
    def at_text(self) -> str:
        """Where runs were scored, in words."""
        if self.at == "final":
            return "each run's last log file"
        return f"the log file holding global step {self.at:,}"


def variant_stats(
    variants: Sequence[str] | None = None,
    *,
    experiments_dir: str | Path = "experiments",
    runs: str = "all",
    metric: str = DEFAULT_METRIC,
    at: str | int = "final",
    reps: int = DEFAULT_REPS,
    seed: int = 0,
    output_dir: str | Path | None = None,
    figure_formats: Sequence[str] = ("png",),
    figures: bool = True,
    jobs: int | None = None,
    map_data: str | Path | None = None,
    progress: Callable[[Run, int, int], Any] | None = None,
    executor: Executor | None = None,
) -> StatsResult:
    """The statistics of ``pokeviz stats``: scores, aggregates, P(X > Y), milestones.

    Args:
        variants: variant folder names under ``experiments_dir`` (default: all).
        experiments_dir: where the variant folders live.
        runs: ``"all"`` runs of each variant, or only the ``"latest"``.
        metric: a ``file_stats`` metric (``reward_total``, ``reward_<component>``,
            ``badges``, …) or ``explored_tiles``.
        at: ``"final"`` or a global step (see :mod:`pokeviz.stats.scores`).
        reps, seed: bootstrap replicates and seed.
        output_dir: where figures go (default ``<experiments_dir>/plots/``).
        figure_formats: ``png``, ``pdf`` and/or ``svg``.
        figures: False to compute only.
        jobs: ingest worker processes per run (results do not depend on it).
        map_data: the map table for milestone names (default: searched as ``compare``).
        progress: ``progress(run, done_bytes, total_bytes)`` during each ingest.
        executor: read stale log files on this executor (one Dask cluster for every
            run, :func:`pokeviz.cluster.cluster_executor`) instead of ``jobs`` processes.

    Returns:
        The :class:`StatsResult`.

    Raises:
        PokevizError: an unknown metric (the valid names listed), a bad ``at``, a STEP
            beyond every run, missing folders; ``NoLogFilesError`` when no run has
            entries; ``OutputError`` when a figure cannot be written.

    Cost: one cache update and a few small queries per run, then vectorized bootstraps
    (O(reps × runs) per statistic). Deterministic: the same logs and options give the
    same numbers and figure bytes.
    """
    started = time.perf_counter()
    experiments = Path(experiments_dir)
    at = parse_at(at)
    formats = check_formats(figure_formats, FIGURE_FORMATS, "figure format")
    names, found = variant_names(experiments, variants)
    table, notes = resolve_map_table(experiments, map_data)
    loaded, warnings, files_read = load_variants(
        names, experiments, lambda view: read_run(view, metric, table), runs=runs, jobs=jobs,
        progress=progress, executor=executor)
    warnings = list(notes) + warnings
    all_runs = [r for v in loaded for r in v.runs]
    if not all_runs:
        raise NoLogFilesError(f"{experiments}: no usable log files in {', '.join(names)}; "
                              + " ".join(warnings))
    check_metric(metric, all_runs)
    scores, left_out = scores_at(all_runs, at)
    warnings += left_out
    usable = [v.name for v in loaded if len(scores.get(v.name, ())) > 0]
    for v in loaded:
        if v.usable and v.name not in usable:
            warnings.append(f"variant {v.name}: no run has a score (not compared)")
    aggregates = [aggregate(v, scores[v], reps=reps, seed=seed, target=TARGETS.get(metric))
                  for v in usable]
    for a in aggregates:
        if a.runs < 2:
            warnings.append(f"variant {a.variant}: 1 run, so no confidence interval "
                            "(bootstrap needs at least 2 runs)")
    improvement = [probability_of_improvement(x, scores[x], y, scores[y], reps=reps, seed=seed)
                   for x in usable for y in usable if x != y]
    by_variant = {v.name: v.runs for v in loaded if v.usable}
    result = StatsResult(
        metric=metric, at=at, variants=usable, runs=all_runs, scores=scores,
        aggregates=aggregates, improvement=improvement,
        milestones={v: milestone_summary(v, [r.milestones for r in rs], reps=reps, seed=seed)
                    for v, rs in by_variant.items()},
        curves={v: c for v, rs in by_variant.items()
                if (c := efficiency_curve(v, rs, reps=reps, seed=seed)) is not None},
        map_table=table, warnings=warnings, files_read=files_read)
    if figures:
        from .figures import write_figures

        out_dir = Path(output_dir) if output_dir is not None else experiments / "plots"
        out_dir.mkdir(parents=True, exist_ok=True)
        colors_for = sorted(set(found) | set(names))
        result.paths = write_figures(result, out_dir, formats, colors_for)
    result.seconds = time.perf_counter() - started
    return result
