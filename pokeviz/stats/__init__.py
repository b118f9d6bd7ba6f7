"""Statistics over runs (seeds): interval half-widths, and the loop over variants' runs.

Every "mean ± interval" pokeviz prints or draws comes from here. scipy is imported only
inside the functions that need it, so ``import pokeviz`` stays fast.
"""

from __future__ import annotations

from .intervals import BANDS, band_half_width, band_label, half_width, t_quantile

__all__ = ["BANDS", "band_half_width", "band_label", "half_width", "t_quantile"]
