"""Scores of runs: what ``pokeviz stats`` reads from each run and the score at a step.

A run's **score** is the exact mean of a metric over every entry of one log file: the
run's last file (``at="final"``) or the file whose global step range holds ``STEP``.
``explored_tiles`` is the number of distinct (map, x, y) tiles first visited up to that
file's last global step. Everything comes from the run's views (``files``,
``file_stats``, ``tiles``, ``milestones``), never from the JSON logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..api import IngestReport, RunView
from ..discover import Run
from ..errors import PokevizError
from ..kanto import MapTable
from .milestones import Milestone, milestones

#: The metric counted from the ``tiles`` view rather than from ``file_stats``.
EXPLORED_TILES = "explored_tiles"
#: The default ``--metric``.
DEFAULT_METRIC = "reward_total"
#: Metrics where a smaller value is better (the LaTeX table's bold goes to the smallest).
LOWER_IS_BETTER = frozenset({"deaths", "episode_step"})
#: Metrics with a known best value, for the optimality gap (rliable's ``gamma``):
#: Pokémon Red has 8 badges.
TARGETS = {"badges": 8.0}


@dataclass
class RunScores:
    """What ``pokeviz stats`` reads from one run's views.

    Attributes:
        variant, run, report: the run, its variant name and its ingest report.
        metric: the metric read.
        file_first, file_last: global step range of each file with entries, file order.
        values: per file, the exact mean of ``metric`` over its entries (NaN where the
            file has no value of it; for ``explored_tiles``, the distinct tiles first
            visited up to the file's last step).
        metrics: every metric this run's ``file_stats`` holds (plus ``explored_tiles``).
        milestones: the run's milestones (:func:`pokeviz.stats.milestones`).
    """

    variant: str
    run: Run
    report: IngestReport
    metric: str
    file_first: np.ndarray
    file_last: np.ndarray
    values: np.ndarray
    metrics: frozenset[str] = frozenset()
    milestones: list[Milestone] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``variant/run`` as tables print it."""
        return f"{self.variant}/{self.run.timestamp}"

    @property
    def last_step(self) -> int:
        """The run's last global step."""
        return int(self.file_last[-1]) if len(self.file_last) else 0

    def file_at(self, at: str | int) -> int | None:
        """Index of the file a score is read from, or None when the run has not reached it.

        ``"final"``: the last file with entries. ``STEP``: the file whose global step
        range holds ``STEP`` (if ``STEP`` falls between two files, the later one).
        """
        if not len(self.file_last):
            return None
        if at == "final":
            return len(self.file_last) - 1
        index = int(np.searchsorted(self.file_last, int(at), side="left"))
        return index if index < len(self.file_last) else None

    def score(self, at: str | int = "final") -> float | None:
        """The run's score (see the module docstring), or None (not reached, no value)."""
        index = self.file_at(at)
        if index is None or np.isnan(self.values[index]):
            return None
        return float(self.values[index])


def read_run(view: RunView, metric: str, table: MapTable | None = None) -> RunScores:
    """Read a run's per-file values of ``metric`` and its milestones.

    Args:
        view: the run, open (:func:`pokeviz.api.open_run`).
        metric: a ``file_stats`` metric name or ``explored_tiles``. A metric the run
            lacks gives NaN values (never 0); :func:`check_metric` names the valid ones.
        table: the map table, for milestone names.

    Returns:
        The :class:`RunScores`. Cost: four queries over the run's small views.
    """
    con = view.con
    files = con.execute(
        "SELECT file, first_global_step, last_global_step FROM files "
        "WHERE entries > 0 ORDER BY file_order").fetchall()
    first = np.array([r[1] for r in files], dtype=np.int64)
    last = np.array([r[2] for r in files], dtype=np.int64)
    values = np.full(len(files), np.nan)
    if metric == EXPLORED_TILES:
        steps = np.sort(np.asarray(con.execute(
            "SELECT first_global_step FROM tiles").fetchnumpy()["first_global_step"],
            dtype=np.int64))
        values = np.searchsorted(steps, last, side="right").astype(np.float64)
    else:
        slot = {name: i for i, (name, _, _) in enumerate(files)}
        for file, mean in con.execute(
                "SELECT file, mean FROM file_stats WHERE metric = ? AND n > 0", [metric]
        ).fetchall():
            if file in slot and mean is not None:
                values[slot[file]] = mean
    names = {r[0] for r in con.execute("SELECT DISTINCT metric FROM file_stats").fetchall()}
    return RunScores(
        variant=view.run.variant, run=view.run, report=view.report, metric=metric,
        file_first=first, file_last=last, values=values,
        metrics=frozenset(names | {EXPLORED_TILES}), milestones=milestones(view, table))


def check_metric(metric: str, runs: list[RunScores]) -> None:
    """Raise when no run has ``metric``.

    Raises:
        PokevizError: one line listing every valid metric name of these runs.
    """
    valid = sorted(set().union(*(r.metrics for r in runs))) if runs else [EXPLORED_TILES]
    if metric not in valid:
        raise PokevizError(f"unknown metric {metric!r}: use one of {', '.join(valid)}")


def parse_at(at: str | int) -> str | int:
    """``"final"`` or a global step (``"2000000"``, ``"2_000_000"``, ``"2,000,000"``).

    Raises:
        PokevizError: anything else, or a step below 1.
    """
    if isinstance(at, int):
        step = at
    elif str(at).strip().lower() == "final":
        return "final"
    else:
        text = str(at).strip().replace("_", "").replace(",", "")
        if not text.isdigit():
            raise PokevizError(f"--at {at}: use final or a global step (a whole number)")
        step = int(text)
    if step < 1:
        raise PokevizError(f"--at {at}: global steps start at 1")
    return step


def scores_at(runs: list[RunScores], at: str | int) -> tuple[dict[str, np.ndarray],
                                                             list[str]]:
    """Every variant's run scores at ``at``, and a warning per run left out.

    Args:
        runs: the runs read (any variants, in order).
        at: ``"final"`` or a global step (:func:`parse_at`).

    Returns:
        ``(scores, warnings)``: per variant (in first-seen order), its runs' scores in
        run order; one warning per run that has not reached ``at`` or lacks the metric.

    Raises:
        PokevizError: ``at`` is a step beyond every run.
    """
    if at != "final" and runs and all(r.file_at(at) is None for r in runs):
        longest = max(r.last_step for r in runs)
        raise PokevizError(f"--at {at:,}: beyond every run (the longest ends at global step "
                           f"{longest:,}); pick a smaller STEP or --at final")
    scores: dict[str, list[float]] = {}
    warnings = []
    for r in runs:
        scores.setdefault(r.variant, [])
        if r.file_at(at) is None:
            warnings.append(f"run {r.name} left out: it ends at global step {r.last_step:,}, "
                            f"before {at:,}")
            continue
        value = r.score(at)
        if value is None:
            warnings.append(f"run {r.name} left out: no {r.metric} in its log file at {at} "
                            "(never counted as 0)")
            continue
        scores[r.variant].append(value)
    return {v: np.array(s, dtype=np.float64) for v, s in scores.items()}, warnings
