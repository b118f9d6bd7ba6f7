"""``NaN``, ``Infinity`` and ``-Infinity`` tokens turned into ``null`` before parsing.

They are not JSON, but Python's ``json.dump`` writes them; both parse paths filter them
with the same rule, leaving string contents untouched.
"""

from __future__ import annotations

import re
from typing import BinaryIO

_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|"|-?Infinity|NaN')
_TAIL = len(b"-Infinity")


def replace_non_finite(data: bytes) -> tuple[bytes, int]:
    """Replace ``NaN``, ``Infinity`` and ``-Infinity`` outside strings by ``null``.

    Returns:
        ``(new_bytes, replacements)``.
    """
    count = 0

    def swap(match: re.Match[bytes]) -> bytes:
        nonlocal count
        token = match.group()
        if token[:1] == b'"':  # a string (or a stray quote): left as it is
            return token
        count += 1
        return b"null"

    if b"NaN" not in data and b"Infinity" not in data:
        return data, 0
    return _TOKENS.sub(swap, data), count


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
        if b"NaN" not in buffer and b"Infinity" not in buffer and b"\\" not in buffer:
            # No token can be complete here: only the string state at the cut matters.
            cut = len(buffer) if final else max(0, len(buffer) - _TAIL)
            if buffer.count(b'"', 0, cut) % 2 == 0:
                self.pending = buffer[cut:]
                return buffer[:cut], 0
        cut = len(buffer) if final else max(0, len(buffer) - _TAIL)
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
            if token[:1] == b'"':
                out.append(token)
            else:
                out.append(b"null")
                count += 1
            position = match.end()
        out.append(buffer[position:cut])
        self.pending = buffer[cut:] if not final else b""
        return b"".join(out), count
