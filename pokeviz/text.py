"""Words for the summaries every command prints: counts with the right plural."""

from __future__ import annotations


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 file``, ``2 files``, ``1,024 entries`` (thousands separated).

    Args:
        n: the number.
        singular: the word for one.
        plural: the word for any other number (default: ``singular + "s"``).
    """
    word = singular if n == 1 else (plural if plural is not None else singular + "s")
    return f"{n:,} {word}"
