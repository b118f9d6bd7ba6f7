"""Statistics over runs (seeds): intervals, milestones, and the loop over variants' runs.

Every "mean ± interval" pokeviz prints or draws comes from here. scipy is imported only
inside the functions that need it, so ``import pokeviz`` stays fast.
"""

from __future__ import annotations

from .intervals import BANDS, band_half_width, band_label, half_width, t_quantile
from .milestones import Milestone, milestones

__all__ = [
    "BANDS",
    "Milestone",
    "band_half_width",
    "band_label",
    "half_width",
    "milestones",
    "t_quantile",
]
