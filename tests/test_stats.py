"""pokeviz.stats: intervals, scores, aggregates, milestones and ``pokeviz stats``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pokeviz.stats import band_half_width, half_width, t_quantile

#: t(0.975, 1) to full precision (tan(0.475 π)), independent of scipy.
T_DF1 = math.tan(0.475 * math.pi)


def _t_cdf(q: float, df: int, n: int = 200_001) -> float:
    """P(T ≤ q) by Simpson's rule on the density (independent of scipy)."""
    x = np.linspace(0.0, q, n)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_c - (df + 1) / 2 * np.log1p(x * x / df))
    h = q / (n - 1)
    simpson = h / 3 * (density[0] + density[-1] + 4 * density[1:-1:2].sum()
                       + 2 * density[2:-1:2].sum())
    return 0.5 + simpson


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 29, 30, 31, 45, 100, 1000])
def test_t_quantile_is_the_975_quantile(df: int) -> None:
    assert _t_cdf(t_quantile(df), df) == pytest.approx(0.975, abs=2e-7)


def test_t_quantile_values_and_limits() -> None:
    assert t_quantile(1) == pytest.approx(T_DF1, abs=5e-7)
    assert t_quantile(2) == 4.302653  # the printed table's value
    assert t_quantile(10**6) == pytest.approx(1.959966, abs=1e-6)
    assert t_quantile(4, 0.90) == 2.131847
    qs = [t_quantile(df) for df in range(1, 40)]
    assert all(a > b for a, b in zip(qs, qs[1:], strict=False))
    with pytest.raises(ValueError):
        t_quantile(0)
    with pytest.raises(ValueError):
        t_quantile(3, 1.5)


def test_half_width_and_bands() -> None:
    values = np.array([[1.0, 2.0], [3.0, 2.0], [8.0, 2.0]])
    sd = np.array([np.std([1.0, 3.0, 8.0], ddof=1), 0.0])
    np.testing.assert_allclose(half_width(values), t_quantile(2) * sd / math.sqrt(3))
    assert half_width([1.0, 3.0]) == pytest.approx(T_DF1 * math.sqrt(2) / math.sqrt(2),
                                                   rel=1e-6)
    np.testing.assert_allclose(band_half_width(values, "sd"), sd)
    np.testing.assert_allclose(band_half_width(values, "se"), sd / math.sqrt(3))
    np.testing.assert_allclose(band_half_width(values, "ci95"), half_width(values))
    assert band_half_width(values, "none") is None
    assert band_half_width(values[:1], "ci95") is None  # one run: no spread to show
    with pytest.raises(ValueError, match="at least 2 runs"):
        half_width([1.0])
    with pytest.raises(ValueError, match="unknown band"):
        band_half_width(values, "iqr")
