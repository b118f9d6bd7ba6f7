"""The per-variant table ``pokeviz compare`` prints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...stats import half_width
from .data import VariantData


def summary_table(variants_: Sequence[VariantData]) -> list[str]:
    """One line per variant (header first): runs, entries, last step, reward, tiles, badges.

    Like with like: each variant's reward is compared at the largest global step that
    all its runs reached (the end of its shortest run's last file with
    ``reward_total``), which the table prints. Each run gives the exact per-file mean
    of the file holding that step; the cell is their mean ± 95 % CI over runs
    (:func:`pokeviz.stats.half_width`); one run has no CI.
    """
    header = ("variant", "runs", "entries", "last step", "reward at step",
              "reward (mean ± 95% CI)", "tiles/run", "max badges")
    rows = []
    for v in variants_:
        if not v.usable:
            rows.append((v.name, "0", "-", "-", "-", "no usable log files", "-", "-"))
            continue
        entries = sum(d.report.entries for d in v.runs)
        last = max(d.report.last_global_step or 0 for d in v.runs)
        ends = [e for e in (d.last_step_with("reward_total") for d in v.runs) if e is not None]
        common = min(ends) if ends else None
        finals = ([] if common is None else
                  [f for f in (d.value_at("reward_total", common) for d in v.runs)
                   if f is not None])
        if not finals:
            reward = "no reward_total"
        elif len(finals) == 1:
            reward = f"{finals[0]:.2f} (1 run, no CI)"
        else:
            reward = f"{float(np.mean(finals)):.2f} ± {half_width(finals):.2f}"
        tiles = float(np.mean([d.tiles for d in v.runs]))
        badges = [b for b in (d.maximum("badges") for d in v.runs) if b is not None]
        rows.append((v.name, str(len(v.runs)), f"{entries:,}", f"{last:,}",
                     f"{common:,}" if common is not None else "-", reward,
                     f"{tiles:,.0f}", f"{max(badges):.0f}" if badges else "-"))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 2, 3, 4, 6, 7}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), *(line(r) for r in rows)]
