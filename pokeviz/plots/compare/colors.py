"""Each variant's colour, the same in every figure (compare, stats, reports)."""

from __future__ import annotations

from collections.abc import Sequence

from ..style import PALETTE

#: The research variants' colours, fixed in every figure: blue, green, orange, red.
FIXED_COLORS = {"v1": PALETTE[0], "v2": PALETTE[2], "v3": PALETTE[1], "v4": PALETTE[3]}
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
