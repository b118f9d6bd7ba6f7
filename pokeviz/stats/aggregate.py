"""Aggregates over runs with 95 % stratified bootstrap CIs, as rliable defines them.

Point estimates are rliable's (``rliable.metrics``): the interquartile mean (IQM, the
25 % trimmed mean), mean, optimality gap and probability of improvement; the median is
over runs (rliable's is across tasks, and pokeviz scores one task).
Confidence intervals are rliable's stratified percentile bootstrap (runs resampled
with replacement within each task; pokeviz has one task per metric), vectorized in
numpy with a seeded ``numpy.random.Generator``: rliable's own bootstrap draws from
numpy's global random state whatever ``random_state`` it is given, and calls the
statistic once per replicate (seconds per variant). Same scores, ``reps`` and ``seed``:
the same intervals, bit for bit; a variant's intervals do not depend on which other
variants are compared.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

#: Bootstrap replicates unless asked otherwise.
DEFAULT_REPS = 2000
#: Coverage of every interval.
CONFIDENCE = 0.95
#: The aggregates reported for each variant, in order.
AGGREGATES = ("iqm", "mean", "median")

Interval = tuple[float, float]


def generator(seed: int, *key: object) -> np.random.Generator:
    """A random generator for one statistic: seeded by ``seed`` and a stable key."""
    words = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(repr(k).encode()) for k in key]
    return np.random.default_rng(words)


def iqm(values: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """The interquartile mean: the 25 % trimmed mean (``scipy.stats.trim_mean``), as rliable."""
    from scipy.stats import trim_mean

    result = trim_mean(np.asarray(values, dtype=np.float64), 0.25, axis=axis)
    return float(result) if np.ndim(result) == 0 else result


def _statistic(name: str, samples: np.ndarray, target: float | None = None) -> np.ndarray:
    """``name`` over the last axis of ``samples`` (replicates × runs)."""
    if name == "iqm":
        return np.asarray(iqm(samples, axis=-1))
    if name == "mean":
        return samples.mean(axis=-1)
    if name == "median":
        return np.median(samples, axis=-1)
    if name == "optimality_gap":
        return target - np.minimum(samples, target).mean(axis=-1)
    raise ValueError(f"unknown aggregate {name!r}")


def point_estimate(name: str, scores: np.ndarray, target: float | None = None) -> float:
    """``iqm``, ``mean``, ``median`` or ``optimality_gap`` of one variant's run scores.

    IQM, mean and optimality gap are computed by ``rliable.metrics`` (scores as a
    runs × 1 task matrix); the median is over the runs (see below).
    """
    from rliable import metrics

    matrix = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    if name == "iqm":
        return float(metrics.aggregate_iqm(matrix))
    if name == "mean":
        return float(metrics.aggregate_mean(matrix))
    if name == "median":
        # rliable's median is across tasks (of per-task means): with pokeviz's one task
        # that would be the mean again, so the median is taken over the runs.
        return float(np.median(matrix))
    if name == "optimality_gap":
        return float(metrics.aggregate_optimality_gap(matrix, gamma=target))
    raise ValueError(f"unknown aggregate {name!r}")


def bootstrap_interval(name: str, scores: np.ndarray, *, reps: int = DEFAULT_REPS,
                       seed: int = 0, key: object = "", target: float | None = None
                       ) -> Interval | None:
    """The 95 % percentile bootstrap interval of an aggregate over runs.

    Args:
        name: ``iqm``, ``mean``, ``median`` or ``optimality_gap``.
        scores: one score per run.
        reps: bootstrap replicates.
        seed, key: pick the random draws (see :func:`generator`).
        target: the best possible value, for ``optimality_gap``.

    Returns:
        ``(low, high)``, or None with fewer than 2 runs (a bootstrap of one run says
        nothing). Cost: O(reps × runs) memory and time, vectorized. Deterministic.
    """
    values = np.asarray(scores, dtype=np.float64)
    if len(values) < 2:
        return None
    draws = generator(seed, "aggregate", name, key).integers(0, len(values),
                                                            size=(reps, len(values)))
    stats = _statistic(name, values[draws], target)
    low, high = np.percentile(stats, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)])
    return float(low), float(high)


@dataclass
class Aggregate:
    """One variant's aggregates over its runs' scores, each with its 95 % interval.

    ``*_ci`` are None with fewer than 2 runs; ``optimality_gap`` is None for metrics
    without a known best value (see :data:`pokeviz.stats.scores.TARGETS`).
    """

    variant: str
    runs: int
    iqm: float
    iqm_ci: Interval | None
    mean: float
    mean_ci: Interval | None
    median: float
    median_ci: Interval | None
    optimality_gap: float | None = None
    optimality_gap_ci: Interval | None = None


def aggregate(variant: str, scores: np.ndarray, *, reps: int = DEFAULT_REPS, seed: int = 0,
              target: float | None = None) -> Aggregate:
    """IQM, mean, median (and the optimality gap when ``target`` is known) of one
    variant's run scores, each with a 95 % stratified bootstrap interval.

    Raises:
        ValueError: no scores.
    """
    values = np.asarray(scores, dtype=np.float64)
    if not len(values):
        raise ValueError(f"{variant}: no run scores")
    out = {}
    for name in AGGREGATES + (("optimality_gap",) if target is not None else ()):
        out[name] = point_estimate(name, values, target)
        out[f"{name}_ci"] = bootstrap_interval(name, values, reps=reps, seed=seed,
                                               key=variant, target=target)
    return Aggregate(variant=variant, runs=len(values), **out)


def improvement_probability(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y): the share of run pairs (x, y) with x > y, ties counted ½.

    The Mann–Whitney U statistic over ``len(x) · len(y)``, computed by
    ``rliable.metrics.probability_of_improvement``.
    """
    from rliable import metrics

    return float(metrics.probability_of_improvement(
        np.asarray(x, dtype=np.float64).reshape(-1, 1),
        np.asarray(y, dtype=np.float64).reshape(-1, 1)))


def _pair_counts(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """P(X > Y) per replicate for replicates × runs arrays (ties ½)."""
    greater = (xs[:, :, None] > ys[:, None, :]).mean(axis=(1, 2))
    ties = (xs[:, :, None] == ys[:, None, :]).mean(axis=(1, 2))
    return greater + 0.5 * ties


@dataclass
class Improvement:
    """P(X > Y) for one ordered pair of variants, with its 95 % bootstrap interval."""

    x: str
    y: str
    p: float
    ci: Interval | None


def probability_of_improvement(x_name: str, x: np.ndarray, y_name: str, y: np.ndarray, *,
                               reps: int = DEFAULT_REPS, seed: int = 0) -> Improvement:
    """P(X > Y) over run pairs with an independent stratified bootstrap interval.

    The runs of X and of Y are resampled independently (rliable's
    ``StratifiedIndependentBootstrap``). The interval is None unless both have at
    least 2 runs. Deterministic for the same ``seed``.
    """
    xv, yv = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    p = improvement_probability(xv, yv)
    ci = None
    if len(xv) >= 2 and len(yv) >= 2:
        rng = generator(seed, "improvement", x_name, y_name)
        xs = xv[rng.integers(0, len(xv), size=(reps, len(xv)))]
        ys = yv[rng.integers(0, len(yv), size=(reps, len(yv)))]
        low, high = np.percentile(_pair_counts(xs, ys),
                                  [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)])
        ci = (float(low), float(high))
    return Improvement(x=x_name, y=y_name, p=p, ci=ci)
