"""Number tokens the parsers cannot take, rewritten before parsing.

* ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON, but Python's ``json.dump`` writes
  them: each becomes ``null`` and is counted (a bad value, wherever it is);
* a number beyond the float64 range (``1e400``) or an integer beyond int64 makes both
  parsers give up on the whole file: it becomes a string holding the same digits, so a
  field pokeviz reads counts it as a bad value (NULL) and any other field ignores it.

Both parse paths apply the same rule with the same code, leaving string contents
untouched.
"""

from __future__ import annotations

import math
import re
from typing import BinaryIO

#: A number that may be out of range: 19+ integer digits, or a 3-digit exponent.
_BIG_NUMBER = (
    rb"(?<![\w.+\-])-?(?:\d{19,}(?:\.\d*)?(?:[eE][+-]?\d+)?|\d+(?:\.\d*)?[eE][+-]?\d{3,})"
)
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|"|-?Infinity|NaN|' + _BIG_NUMBER)
_BIG_HINT = re.compile(rb"\d{19}|[eE][+-]?\d{3}")
_TAIL = len(b"-Infinity")
#: Bytes a number may span and still be held back whole at a chunk boundary.
_LONGEST_NUMBER = 1 << 20
_NUMBER_BYTES = b"0123456789.eE+-"
_INT64 = 1 << 63


def _out_of_range(token: bytes) -> bool:
    """Whether a JSON number token is beyond int64 (integers) or float64 (others)."""
    digits = token[1:] if token[:1] == b"-" else token
    try:
        if digits.isdigit():
            return not -_INT64 <= int(token) < _INT64
        return math.isinf(float(token))
    except ValueError:  # more digits than Python converts: out of any range
        return True


def _rewrite(token: bytes) -> tuple[bytes, int]:
    """The replacement of one matched token and whether it counts as a bad value."""
    if token[:1] == b'"':  # a string (or a stray quote): left as it is
        return token, 0
    if token in (b"NaN", b"Infinity", b"-Infinity"):
        return b"null", 1
    return (b'"' + token + b'"' if _out_of_range(token) else token), 0


def _needs_rewrite(data: bytes) -> bool:
    return b"NaN" in data or b"Infinity" in data or _BIG_HINT.search(data) is not None


def replace_non_finite(data: bytes) -> tuple[bytes, int]:
    """Apply the rules above to a whole JSON text.

    Returns:
        ``(new_bytes, bad_values)``: the rewritten text (``data`` itself when nothing was
        rewritten) and how many tokens became ``null``. Memory: the output plus one piece
        per rewritten token.
    """
    if not _needs_rewrite(data):
        return data, 0
    out: list[bytes] = []
    count = position = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        new, bad = _rewrite(token)
        if new is not token:
            out.append(data[position : match.start()])
            out.append(new)
            position = match.end()
            count += bad
    if not out:
        return data, 0
    out.append(data[position:])
    return b"".join(out), count


class NonFiniteFilter:
    """A read-only binary stream that applies :func:`replace_non_finite` on the fly.

    Keeps at most one chunk plus a few bytes: a token or string split across chunk
    boundaries is held back until it is complete.
    """

    def __init__(self, raw: BinaryIO, chunk_bytes: int = 1 << 20) -> None:
        self.raw = raw
        self.chunk_bytes = chunk_bytes
        self.pending = b""
        self.ready = b""
        self.offset = 0
        self.replaced = 0
        self.done = False

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` filtered bytes (all that is left for -1; b"" at the end)."""
        while not self.done and (size < 0 or len(self.ready) - self.offset < size):
            chunk = self.raw.read(self.chunk_bytes)
            buffer = self.pending + chunk
            self.done = not chunk
            out, count = self._filter(buffer, final=self.done)
            self.replaced += count
            self.ready = self.ready[self.offset :] + out
            self.offset = 0
        end = len(self.ready) if size < 0 else self.offset + size
        piece = self.ready[self.offset : end]
        self.offset += len(piece)
        return piece

    def _filter(self, buffer: bytes, final: bool) -> tuple[bytes, int]:
        cut = len(buffer) if final else max(0, len(buffer) - _TAIL)
        if not final:
            # A number running up to the end may go on in the next chunk: hold it back
            # whole, so its digits are judged together.
            run = len(buffer) - len(buffer.rstrip(_NUMBER_BYTES))
            if _TAIL <= run <= _LONGEST_NUMBER:
                cut = len(buffer) - run
        # Without tokens to rewrite, only the string state at the cut matters.
        quiet = b"\\" not in buffer and not _needs_rewrite(buffer)
        if quiet and buffer.count(b'"', 0, cut) % 2 == 0:
            self.pending = buffer[cut:]
            return buffer[:cut], 0
        out: list[bytes] = []
        count = 0
        position = 0
        for match in _TOKENS.finditer(buffer):
            token = match.group()
            if match.start() >= cut:
                break
            if token == b'"':  # a string not closed in this buffer
                cut = len(buffer) if final else match.start()
                break
            if match.end() > cut and not final:
                cut = match.start()
                break
            out.append(buffer[position : match.start()])
            new, bad = _rewrite(token)
            out.append(new)
            count += bad
            position = match.end()
        out.append(buffer[position:cut])
        self.pending = buffer[cut:] if not final else b""
        return b"".join(out), count
