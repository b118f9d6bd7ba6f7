"""The nesting-depth limit of log files, checked on raw bytes before any parser sees them.

A log entry is at most four levels deep (array, entry, group, components); a file nested
deeper than :data:`MAX_DEPTH` levels is hostile or broken. Parsers recurse or keep a
stack per level (msgspec raises ``RecursionError`` near 1,000 levels, ijson's memory grows
with the square of the depth), so the depth is checked first, in bounded memory.
"""

from __future__ import annotations

import numpy as np

#: Deepest nesting a log file may have; the top-level array is level 1.
MAX_DEPTH = 64

# Byte classes: 1 opens a container, 2 closes one, 3 is a quote, 4 a backslash.
_KIND = np.zeros(256, dtype=np.int8)
_KIND[[ord("["), ord("{")]] = 1
_KIND[[ord("]"), ord("}")]] = 2
_KIND[ord('"')] = 3
_KIND[ord("\\")] = 4


class TooDeep(ValueError):
    """A file nests deeper than :data:`MAX_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")


class DepthScanner:
    """Follows the container depth of a JSON text fed in consecutive pieces.

    Brackets inside strings do not count; escaped quotes are honoured. Memory: O(piece)
    for the piece being scanned, O(1) between pieces. Cost: a few vectorised passes over
    each piece, plus a Python loop over the brackets and quotes of a piece that holds a
    backslash (strings with escapes are rare in logs).
    """

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False  # the previous piece ended in an unfinished escape

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Scan the next piece.

        Raises:
            TooDeep: the text so far nests deeper than :data:`MAX_DEPTH` levels.
        """
        raw = np.frombuffer(data, dtype=np.uint8)
        if raw.size == 0:
            return
        kinds = _KIND[raw]
        where = np.flatnonzero(kinds)
        if where.size == 0 and not self.escaped:
            return
        kind = kinds[where]
        if self.escaped or (kind == 4).any():
            self._feed_slowly(where.tolist(), kind.tolist(), raw.size)
            return
        quotes = np.cumsum(kind == 3) + self.in_string
        outside = (quotes & 1) == 0
        step = np.where(kind == 1, 1, np.where(kind == 2, -1, 0)) * outside
        levels = np.cumsum(step) + self.depth
        if int(levels.max()) > MAX_DEPTH:
            raise TooDeep
        self.depth = int(levels[-1])
        self.in_string = bool(quotes[-1] & 1)

    def _feed_slowly(self, where: list[int], kind: list[int], size: int) -> None:
        depth, in_string = self.depth, self.in_string
        escaped_at = 0 if self.escaped else -1  # the byte a backslash escapes
        for position, k in zip(where, kind, strict=True):
            if position == escaped_at:
                continue
            if k == 4:
                if in_string:
                    escaped_at = position + 1
            elif k == 3:
                in_string = not in_string
            elif not in_string:
                depth += 1 if k == 1 else -1
                if depth > MAX_DEPTH:
                    raise TooDeep
        self.depth, self.in_string, self.escaped = depth, in_string, escaped_at == size


def raw_lists_are_flat(raws: list[bytes] | list[memoryview] | list) -> bool:
    """Whether each raw JSON value is a list of scalars (or anything without brackets).

    A sufficient, cheap test over the joined values: every ``[`` opens a value and no
    ``{`` occurs. False means "not known", and the caller scans the text.
    """
    if not raws:
        return True
    joined = b"\x00".join(raws)  # JSON values hold no NUL byte
    if b"{" in joined:
        return False
    data = np.frombuffer(joined, dtype=np.uint8)
    opens = np.flatnonzero(data == ord("["))
    # Each "[" must be the first byte of a value: at 0 or right after a separator.
    return bool((data[np.maximum(opens - 1, 0)] == 0).sum() + (opens[:1] == 0).sum() == opens.size)


def check_depth(data: bytes | bytearray | memoryview) -> None:
    """Scan one whole JSON text.

    Raises:
        TooDeep: it nests deeper than :data:`MAX_DEPTH` levels.
    """
    DepthScanner().feed(data)
