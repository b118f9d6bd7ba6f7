"""Statistics over runs (seeds): scores, IQM and bootstrap CIs, P(X > Y), milestones.

Every "mean ± interval" pokeviz prints or draws comes from here (``compare`` too). The
functions a notebook needs:

* :func:`t_quantile`, :func:`half_width`, :func:`band_half_width` — Student's t intervals;
* :func:`milestones`, :func:`milestone_summary` — steps to each map and badge count;
* :func:`read_run`, :func:`scores_at` — a run's per-file values and its score at a step;
* :func:`iqm`, :func:`aggregate`, :func:`bootstrap_interval`,
  :func:`probability_of_improvement` — rliable's aggregates with seeded bootstrap CIs;
* :func:`efficiency_curve` — IQM over runs against global step, with a band;
* :func:`variant_stats` — everything ``pokeviz stats`` does, in one call.

scipy, rliable and matplotlib are imported only inside the functions that need them, so
``import pokeviz`` stays fast.
"""

from __future__ import annotations

from .aggregate import (
    Aggregate,
    Improvement,
    aggregate,
    bootstrap_interval,
    improvement_probability,
    iqm,
    probability_of_improvement,
)
from .compute import StatsResult, variant_stats
from .curves import EfficiencyCurve, efficiency_curve
from .intervals import BANDS, band_half_width, band_label, half_width, t_quantile
from .milestones import Milestone, MilestoneSummary, milestone_summary, milestones
from .scores import EXPLORED_TILES, RunScores, parse_at, read_run, scores_at

__all__ = [
    "BANDS",
    "EXPLORED_TILES",
    "Aggregate",
    "EfficiencyCurve",
    "Improvement",
    "Milestone",
    "MilestoneSummary",
    "RunScores",
    "StatsResult",
    "aggregate",
    "band_half_width",
    "band_label",
    "bootstrap_interval",
    "efficiency_curve",
    "half_width",
    "improvement_probability",
    "iqm",
    "milestone_summary",
    "milestones",
    "parse_at",
    "probability_of_improvement",
    "read_run",
    "scores_at",
    "t_quantile",
    "variant_stats",
]
