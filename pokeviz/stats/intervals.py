"""Interval half-widths over runs: Student's t confidence interval, standard error, deviation.

The one place pokeviz computes "mean ± something" over runs (seeds); ``compare`` draws
its bands and prints its table with these functions.
"""

from __future__ import annotations

import math

import numpy as np

#: ``--band`` choices: a 95 % Student's t confidence interval of the mean, the standard
#: error of the mean, the sample standard deviation, or no band.
BANDS = ("ci95", "se", "sd", "none")


def t_quantile(df: int, confidence: float = 0.95) -> float:
    """The two-sided quantile of Student's t: ``t((1 + confidence) / 2, df)``.

    Args:
        df: degrees of freedom, at least 1 (runs − 1).
        confidence: the interval's coverage, in (0, 1).

    Returns:
        The quantile from ``scipy.stats.t`` (imported here, so importing pokeviz stays
        fast), rounded to 6 decimals as in printed t tables (error ≤ 5e-7): the last
        bits of ``t.ppf`` may differ between scipy versions, and a band drawn with them
        would change a figure's bytes. Pure and deterministic.

    Raises:
        ValueError: ``df`` < 1 or ``confidence`` outside (0, 1).
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    from scipy.stats import t

    return round(float(t.ppf((1.0 + confidence) / 2.0, df)), 6)


def half_width(values: np.ndarray | list[float], confidence: float = 0.95,
               axis: int = 0) -> np.ndarray | float:
    """Half-width of the confidence interval of the mean: ``t · s / √n``.

    Args:
        values: one value per run along ``axis`` (at least 2 runs).
        confidence: the interval's coverage (default 95 %).
        axis: the runs' axis (for a runs × grid array, 0).

    Returns:
        ``t((1 + confidence) / 2, n − 1) · s / √n`` with ``s`` the sample standard
        deviation (ddof 1): a float for 1-D input, else an array over the other axes.
        Pure and deterministic.

    Raises:
        ValueError: fewer than 2 values along ``axis``.
    """
    array = np.asarray(values, dtype=np.float64)
    n = array.shape[axis]
    if n < 2:
        raise ValueError(f"a confidence interval needs at least 2 runs, got {n}")
    # The order of the operations is kept stable: the figures' bytes depend on the last bit.
    half = t_quantile(n - 1, confidence) * array.std(axis=axis, ddof=1) / math.sqrt(n)
    return float(half) if np.ndim(half) == 0 else half


def band_half_width(values: np.ndarray, band: str = "ci95", axis: int = 0) -> np.ndarray | None:
    """The half-width of a ``--band`` around the mean over runs.

    Args:
        values: one value per run along ``axis``.
        band: ``ci95`` (:func:`half_width`), ``se`` (``s / √n``), ``sd`` (``s``) or
            ``none``.
        axis: the runs' axis.

    Returns:
        The half-width, or None for ``none`` or fewer than 2 runs (no spread to show).

    Raises:
        ValueError: an unknown band.
    """
    if band not in BANDS:
        raise ValueError(f"unknown band {band!r}: use one of {', '.join(BANDS)}")
    array = np.asarray(values, dtype=np.float64)
    n = array.shape[axis]
    if band == "none" or n < 2:
        return None
    if band == "ci95":
        return np.asarray(half_width(array, 0.95, axis))
    sd = array.std(axis=axis, ddof=1)
    return sd / math.sqrt(n) if band == "se" else sd


def band_label(band: str, n_runs: int) -> str:
    """How the legend names a band over ``n_runs`` runs, e.g. ``± 95 % CI (t, df 3)``."""
    return {
        "ci95": f"± 95 % CI (t, df {n_runs - 1})",
        "se": "± 1 standard error",
        "sd": "± 1 standard deviation",
        "none": "no band",
    }[band]
