"""Run alerts shown on the run list: *stalled* (no new log file lately) and *plateaued*.

Both are pure functions of numbers read from a run's views, so they are tested without
a clock or a server. Each returns None or an :class:`Alert` whose ``reason`` says why in
words a user can check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: Default minutes without a new log file after which a run counts as stalled.
STALL_MINUTES = 30.0
#: The last fraction of a run's steps over which growth is looked for.
PLATEAU_FRACTION = 0.2
#: Log files with entries needed before a plateau is called (fewer: too early to say).
PLATEAU_MIN_FILES = 5
#: Gaps between earlier files looked at to decide whether they came regularly.
RECENT_GAPS = 10
#: Files written less than a second apart (a copy, not training) show no cadence.
MIN_CADENCE_SECONDS = 1.0


@dataclass(frozen=True)
class Alert:
    """One badge on the run list: ``kind`` (``stalled`` or ``plateaued``) and why."""

    kind: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """``{"kind": …, "reason": …}``."""
        return asdict(self)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min" if seconds < 600 else f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _steps(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.0f}"


def stalled(
    write_times: Sequence[float],
    *,
    now: float,
    stall_minutes: float = STALL_MINUTES,
    finished: bool = False,
) -> Alert | None:
    """A stalled-run alert, or None.

    A run is stalled when its newest log file is older than ``stall_minutes`` while the
    files before it came regularly: at least three files, their last
    :data:`RECENT_GAPS` gaps all shorter than ``stall_minutes`` (training had never been
    silent that long) and their median gap at least :data:`MIN_CADENCE_SECONDS` (files
    copied in one go show no cadence). A finished run (``stats_final_*`` present) is
    never stalled.

    Args:
        write_times: when each log file was last written (unix seconds, e.g. its mtime).
        now: the current unix time.
        stall_minutes: the silence that counts as stalled.
        finished: the run wrote its final log file.

    Returns:
        The alert with a reason such as "no new log file for 47 min; before that, 11
        files came every 1.5 min (median)", or None. Pure.
    """
    if finished or len(write_times) < 3:
        return None
    times = np.sort(np.asarray(write_times, dtype=np.float64))
    limit = stall_minutes * 60.0
    age = now - float(times[-1])
    gaps = np.diff(times)[-RECENT_GAPS:]
    median = float(np.median(gaps))
    if age <= limit or float(gaps.max()) >= limit or median < MIN_CADENCE_SECONDS:
        return None
    return Alert(
        "stalled",
        f"no new log file for {_duration(age)}; before that, {len(gaps) + 1} files came "
        f"every {_duration(median)} (median)",
    )


def plateaued(
    file_first_step: Sequence[float],
    file_last_step: Sequence[float],
    reward_mean: Sequence[float],
    tile_first_steps: Sequence[float],
    *,
    fraction: float = PLATEAU_FRACTION,
) -> Alert | None:
    """A plateau alert, or None.

    A run has plateaued when, over the last ``fraction`` of its global steps, neither
    its per-file mean reward nor its unique tiles grew: no file whose middle step lies
    in that stretch has a mean ``reward_total`` above the best mean of the files before
    it, and no tile was first visited in it. Needs :data:`PLATEAU_MIN_FILES` files with
    entries, at least one of them in the stretch and two before it; a run without
    ``reward_total`` is judged on tiles alone.

    Args:
        file_first_step, file_last_step: each file's global step range, file order.
        reward_mean: each file's exact mean ``reward_total`` (NaN: none).
        tile_first_steps: the global step at which each unique tile was first visited.
        fraction: the stretch at the end, as a fraction of the covered steps.

    Returns:
        The alert, with the stretch and both numbers in its reason, or None. Pure.
    """
    first = np.asarray(file_first_step, dtype=np.float64)
    last = np.asarray(file_last_step, dtype=np.float64)
    if len(last) < PLATEAU_MIN_FILES:
        return None
    start, end = float(first.min()), float(last.max())
    cutoff = end - fraction * (end - start + 1)
    middle = (first + last) / 2.0
    late = middle > cutoff
    if late.sum() < 1 or (~late).sum() < 2:
        return None
    means = np.asarray(reward_mean, dtype=np.float64)
    before, after = means[~late], means[late]
    if np.isfinite(before).any() and np.isfinite(after).any():
        best_before = float(np.nanmax(before))
        best_after = float(np.nanmax(after))
        if best_after > best_before:
            return None
        reward = (f"best per-file mean reward {best_after:.4g}, not above "
                  f"{best_before:.4g} before")
    else:
        reward = "no reward_total logged"
    tiles = np.asarray(tile_first_steps, dtype=np.float64)
    if (tiles > cutoff).any():
        return None
    span = f"{_steps(math.floor(cutoff) + 1)} … {_steps(end)}"
    return Alert(
        "plateaued",
        f"over the last {fraction:.0%} of steps ({span}): {reward}; no new tile "
        f"({len(tiles):,} unique)",
    )
