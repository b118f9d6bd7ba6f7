"""Sample efficiency: the IQM over runs against global step, with a bootstrap band."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .aggregate import CONFIDENCE, DEFAULT_REPS, generator, iqm
from .scores import EXPLORED_TILES, RunScores

#: At most this many grid points per curve (evenly spaced when the runs have more).
MAX_GRID = 200
#: Bootstrap replicates drawn at once (bounds memory: chunk × runs × grid floats).
_CHUNK = 250


@dataclass
class EfficiencyCurve:
    """One variant's sample-efficiency curve.

    Attributes:
        variant: the variant.
        runs: the runs averaged (those with a value of the metric).
        steps: the common grid of global steps.
        iqm: the IQM over runs at each step.
        low, high: the 95 % bootstrap band (None with fewer than 2 runs).
    """

    variant: str
    runs: int
    steps: np.ndarray
    iqm: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def run_points(run: RunScores) -> tuple[np.ndarray, np.ndarray]:
    """A run's points: each file's exact mean at its middle global step (for
    ``explored_tiles``, the cumulative count at its last step); files without a value
    are left out."""
    steps = (run.file_last.astype(np.float64) if run.metric == EXPLORED_TILES
             else (run.file_first + run.file_last) / 2.0)
    keep = ~np.isnan(run.values)
    return steps[keep], run.values[keep]


def common_grid(points: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The steps every run covers: the union of their points inside the common range
    (no extrapolation), thinned to :data:`MAX_GRID` evenly spaced steps when longer."""
    start = max(float(s[0]) for s, _ in points)
    end = min(float(s[-1]) for s, _ in points)
    if start > end:
        return np.empty(0)
    grid = np.unique(np.concatenate([s[(s >= start) & (s <= end)] for s, _ in points]))
    if len(grid) > MAX_GRID:
        grid = np.linspace(start, end, MAX_GRID)
    return grid


def efficiency_curve(variant: str, runs: Sequence[RunScores], *, reps: int = DEFAULT_REPS,
                     seed: int = 0) -> EfficiencyCurve | None:
    """The IQM of the metric over a variant's runs on their common grid, with its band.

    Args:
        variant: the variant's name (also keys the random draws).
        runs: its runs (:func:`pokeviz.stats.scores.read_run`).
        reps, seed: bootstrap replicates and seed (runs resampled with replacement,
            the same runs at every step, as rliable's IQM curves).

    Returns:
        The curve, or None when no run has a value. One run: its own points, no band.
        Cost: O(reps × runs × grid), in chunks. Deterministic.
    """
    points = [p for p in (run_points(r) for r in runs) if len(p[0])]
    if not points:
        return None
    if len(points) == 1:
        return EfficiencyCurve(variant, 1, points[0][0].copy(), points[0][1].copy())
    grid = common_grid(points)
    values = np.vstack([np.interp(grid, s, v) for s, v in points])
    curve = EfficiencyCurve(variant, len(points), grid, np.asarray(iqm(values, axis=0)))
    if len(grid):
        rng = generator(seed, "efficiency", variant)
        stats = []
        for start in range(0, reps, _CHUNK):
            draws = rng.integers(0, len(points), size=(min(_CHUNK, reps - start), len(points)))
            stats.append(np.asarray(iqm(values[draws], axis=1)))
        low, high = np.percentile(np.vstack(stats), [50 * (1 - CONFIDENCE),
                                                      50 * (1 + CONFIDENCE)], axis=0)
        curve.low, curve.high = low, high
    return curve
