"""Each variant's colour, the same in every figure (compare, stats, reports)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..style import PALETTE

#: v4's red: a true red (matplotlib's tab:red), CIEDE2000 ΔE 34 from v3's orange, where
#: the palette's vermillion was only 17 away and hard to tell apart.
V4_RED = "#d62728"
#: The research variants' colours, fixed in every figure: blue, green, orange, red.
#: Every pair differs by CIEDE2000 ΔE ≥ 20 (:func:`delta_e2000`).
FIXED_COLORS = {"v1": PALETTE[0], "v2": PALETTE[2], "v3": PALETTE[1], "v4": V4_RED}
#: Colours of other variant names, by their rank among those names in sorted order
#: (purple, brown, sky blue, grey, pink, yellow; repeating after that).
EXTRA_COLORS = (PALETTE[4], PALETTE[5], PALETTE[9], PALETTE[7], PALETTE[6], PALETTE[8])


def variant_color(name: str, index: int = 0) -> str:
    """The colour of a variant, the same in every figure.

    Args:
        name: the variant folder name.
        index: for names other than v1–v4, the name's rank (0-based) among those other
            names in sorted order; :func:`variant_colors` computes it.

    Returns:
        v1 blue, v2 green, v3 orange, v4 red (whatever ``index``); other names
        ``EXTRA_COLORS[index]``, repeating after six. Pure.
    """
    if name in FIXED_COLORS:
        return FIXED_COLORS[name]
    return EXTRA_COLORS[index % len(EXTRA_COLORS)]


def variant_colors(names: Sequence[str]) -> dict[str, str]:
    """Colours of several variants: the fixed ones, others ranked by sorted name.

    Pass every variant of the experiments folder (not only the compared ones) so a
    variant keeps its colour whichever subset is compared.
    """
    others = sorted({n for n in names if n not in FIXED_COLORS})
    rank = {n: i for i, n in enumerate(others)}
    return {n: variant_color(n, rank.get(n, 0)) for n in names}


def srgb_to_lab(color: str) -> np.ndarray:
    """A ``#rrggbb`` colour in CIE L*a*b* (D65 white, sRGB companding)."""
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                    [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ linear
    ratio = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(ratio > (6 / 29) ** 3, np.cbrt(ratio), ratio / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    """The CIEDE2000 colour difference of two L*a*b* colours (Sharma, Wu & Dalal 2005).

    ΔE ≈ 1 is the smallest difference most people see; ≥ 20 is clearly different.
    Pure.
    """
    l1, a1, b1 = (float(v) for v in lab1)
    l2, a2, b2 = (float(v) for v in lab2)
    c_mean = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = l2 - l1, c2p - c1p
    dh = 0.0
    if c1p * c2p:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    dH = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_mean = h1p + h2p
    if c1p * c2p:
        h_mean = ((h1p + h2p + 360) / 2 if abs(h1p - h2p) > 180 and h1p + h2p < 360
                  else (h1p + h2p - 360) / 2 if abs(h1p - h2p) > 180 else (h1p + h2p) / 2)
    t = (1 - 0.17 * math.cos(math.radians(h_mean - 30)) + 0.24 * math.cos(math.radians(2 * h_mean))
         + 0.32 * math.cos(math.radians(3 * h_mean + 6))
         - 0.20 * math.cos(math.radians(4 * h_mean - 63)))
    d_theta = 30 * math.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * math.sqrt(cp_mean**7 / (cp_mean**7 + 25**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / math.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -math.sin(math.radians(2 * d_theta)) * r_c
    return math.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dH / s_h) ** 2
                     + r_t * (dc / s_c) * (dH / s_h))
