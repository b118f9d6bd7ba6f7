"""Milestones of a run: the first global step each map was visited and each badge count reached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..api import RunView
from ..kanto import MapTable

#: Milestone kinds, in the order they are listed.
KINDS = ("map", "badge")


@dataclass(frozen=True)
class Milestone:
    """One milestone of one run.

    Attributes:
        kind: ``"map"`` (first visit of a map) or ``"badge"`` (badge count first at
            least ``key``).
        key: the map id, or the badge count k (1-8).
        name: the map's name from the map table (None without a table, for a map the
            table lacks, and for badges).
        first_global_step: the global training step (see the user docs) it was reached.
    """

    kind: str
    key: int
    name: str | None
    first_global_step: int

    @property
    def label(self) -> str:
        """How tables and figures name it: the map name, ``map 40``, or ``badge 2``."""
        if self.kind == "badge":
            return f"badge {self.key}"
        return self.name or f"map {self.key}"


def milestones(view: RunView, table: MapTable | None = None) -> list[Milestone]:
    """Every milestone of a run, from its ``milestones`` view.

    How exact each kind is:

    * **map**: exact. The minimum over every entry of every file of its global step
      ``T − n + 1 + i`` (the ``tiles`` view keeps each tile's first step; a map's is the
      earliest of its tiles). Within one file entries are env-major, so like every
      global step it is exact up to the ordering inside one rollout.
    * **badge** (count k): within one log file. The cache keeps each file's exact
      maximum badge count and 100 samples per file, not every entry: the milestone is
      in the first file whose maximum reached k (exact), at the earliest sample there
      with ``badges ≥ k``, else at that file's last step. So it is never earlier than
      the true step and never later than the end of that file.

    Args:
        view: the run, open (:func:`pokeviz.api.open_run`).
        table: the map table for map names (optional).

    Returns:
        Map milestones by first step (then map id), then badge milestones by count.
        Deterministic; one small query.
    """
    rows = view.con.execute(
        "SELECT kind, key, first_global_step FROM milestones").fetchall()
    out = []
    for kind, key, step in rows:
        name = None
        if kind == "map" and table is not None and int(key) in table.maps:
            name = table.maps[int(key)].name
        out.append(Milestone(kind=kind, key=int(key), name=name, first_global_step=int(step)))
    return out


@dataclass(frozen=True)
class MilestoneSummary:
    """One milestone over a variant's runs.

    Attributes:
        variant, kind, key, name: which milestone (see :class:`Milestone`).
        reached, runs: how many of the variant's runs reached it, of how many.
        mean: the mean first global step over the runs that reached it.
        ci: its 95 % bootstrap interval, None when fewer than 2 runs reached it.
    """

    variant: str
    kind: str
    key: int
    name: str | None
    reached: int
    runs: int
    mean: float
    ci: tuple[float, float] | None

    @property
    def label(self) -> str:
        """The milestone's name as tables and figures print it."""
        return Milestone(self.kind, self.key, self.name, 0).label


def milestone_summary(variant: str, runs: list[list[Milestone]], *, reps: int = 2000,
                      seed: int = 0) -> list[MilestoneSummary]:
    """Steps to each milestone over one variant's runs.

    Args:
        variant: the variant.
        runs: each run's milestones (:func:`milestones`).
        reps, seed: bootstrap replicates and seed of the intervals.

    Returns:
        One summary per milestone any run reached: maps by mean step (then id), then
        badges by count. Runs that never reached a milestone are counted in ``runs``
        but not in the mean (a step that never happened is not 0 and not infinity).
        The interval is the 95 % percentile bootstrap of the mean over the runs that
        reached it (:func:`pokeviz.stats.bootstrap_interval`): it stays inside the
        steps observed, where a t interval of a few runs could reach below step 0.
        Deterministic.
    """
    from .aggregate import bootstrap_interval

    steps: dict[tuple[str, int], list[int]] = {}
    names: dict[tuple[str, int], str | None] = {}
    for run in runs:
        for m in run:
            steps.setdefault((m.kind, m.key), []).append(m.first_global_step)
            names[(m.kind, m.key)] = names.get((m.kind, m.key)) or m.name
    out = []
    for (kind, key), values in steps.items():
        ci = bootstrap_interval("mean", np.array(values, dtype=np.float64), reps=reps,
                                seed=seed, key=(variant, kind, key))
        out.append(MilestoneSummary(variant, kind, key, names[(kind, key)], len(values),
                                    len(runs), float(np.mean(values)), ci))
    return sorted(out, key=lambda s: (KINDS.index(s.kind), s.mean if s.kind == "map"
                                      else 0.0, s.key))
