"""The fast parse path: complete files decoded by msgspec, slice by slice.

Files are decoded in slices of ~:data:`SLICE_BYTES` cut between top-level entries, so
memory is O(slice) whatever the file size. Anything msgspec rejects is left to
the streaming path (:mod:`pokeviz.ingest_stream`), which gives the same summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import msgspec
import numpy as np

from .depth import TooDeep, check_depth, raw_lists_are_flat
from .formats import NESTED_KEYS
from .formats_structs import (
    FLAT_STANDARD_DECODER,
    NESTED_DECODER,
    NESTED_DECODER_ANY_COMPONENTS,
    NESTED_STRICT_DECODERS,
    flat_columns,
    flat_decoder,
    nested_columns,
    raw_lists,
)
from .ingest_summary import BlockCutter, FileSummary, SummaryBuilder, finish_summary
from .nonfinite import replace_non_finite

#: Bytes read per slice by the fast path on pretty-printed files. Small slices keep the
#: decoded structs in the CPU caches: measured on 29 MB nested files, 512 KiB slices were
#: ~1.5x faster than whole-file decoding and added ~8 MB to the peak instead of ~65 MB.
SLICE_BYTES = 512 * 1024
#: What lies between two top-level entries: with ``indent=2``, then as ``json.dump``
#: writes compact files (with and without spaces). Cutting at the comma splits the
#: array into whole entries. The first cannot match inside a value (JSON strings hold
#: no raw newline); the others could only inside a string or a list of objects, which
#: logs do not have, and a cut there leaves a piece msgspec cannot decode (an open
#: string or container), so the streaming path reads such a file correctly.
_ENTRY_BOUNDARIES = (b"\n  },\n  {", b"}, {", b"},{")


def fast_path(summary: FileSummary, handle: BinaryIO) -> bool:
    """Decode a complete file with msgspec, slice by slice; False to stream it instead.

    ``handle`` is positioned after any byte-order mark. Nothing is written into
    ``summary`` unless every slice decodes.
    """
    builder = SummaryBuilder()
    blocks = BlockCutter(builder)
    formats: dict[str, int] = {}
    replaced = 0
    nested: bool | None = None
    for piece in _slices(handle):
        if nested is None:  # the generation is sniffed from the head of the file
            nested = _mentions_nested(bytes(piece[:65536]))
        decoded = _decode_slice(piece, nested)
        del piece
        if decoded is None:
            return False
        columns, counts, replaced_here = decoded
        replaced += replaced_here
        for name, count in counts.items():
            formats[name] = formats.get(name, 0) + count
        blocks.add(columns)
    blocks.finish()
    if blocks.infinite:
        return False  # msgspec rejects out-of-range numbers; kept as a guard
    summary.parser = "msgspec"
    summary.bad_values = replaced
    finish_summary(summary, builder, formats)
    return True


def _slices(handle: BinaryIO) -> Iterator[bytes | memoryview]:
    """The rest of a file holding one JSON array, as JSON arrays of whole entries.

    Files are cut at the first of :data:`_ENTRY_BOUNDARIES` they hold, about every
    :data:`SLICE_BYTES`: the boundary's comma becomes ``]`` to close one piece and then
    ``[`` to open the next, so the pieces are the original bytes and a syntax error
    stays a syntax error. They are views into one reused buffer (fresh buffers per slice
    cost more in page faults than the decoding), valid until the next piece is asked
    for. A file without any boundary in its first slice comes whole.
    """
    buffer = bytearray(SLICE_BYTES)
    size = handle.readinto(buffer)
    boundary = next((b for b in _ENTRY_BOUNDARIES if buffer.find(b, 0, size) >= 0), None)
    if boundary is None:
        yield bytes(buffer[:size]) + handle.read()
        return
    comma_offset = boundary.index(b",")
    start = 0  # where the next piece starts: the file's "[" or a boundary comma
    while True:
        view = memoryview(buffer)
        while size < len(buffer) and (read := handle.readinto(view[size:])):
            size += read
        if size < len(buffer):  # the end of the file is in the buffer
            yield view[start:size]
            return
        cut = buffer.rfind(boundary, start, size)
        if cut < 0:  # one entry longer than the buffer: make room and read on
            view.release()
            buffer.extend(bytes(len(buffer)))
            continue
        comma = cut + comma_offset
        buffer[comma] = ord("]")
        yield view[start : comma + 1]
        buffer[comma] = ord("[")
        tail = bytes(view[comma:size])  # less than one entry
        view.release()
        buffer[: len(tail)] = tail
        start, size = 0, len(tail)


def _decode_slice(
    data: bytes | memoryview, nested: bool
) -> tuple[dict[str, np.ndarray], dict[str, int], int] | None:
    """Columns, generation counts and replaced tokens of one slice; None to stream.

    ``NaN``/``Infinity`` tokens are not JSON, so msgspec fails on them: only then is the
    slice filtered (:func:`replace_non_finite`) and decoded again, which keeps the scan
    off the common path. Any other failure means the streaming path reads the file.
    """
    replaced = 0
    try:
        decoded = _decode_columns(data, nested)
    except (msgspec.ValidationError, TooDeep, RecursionError):
        return None  # the streaming path gives the verdict
    except msgspec.DecodeError:
        original = bytes(data)
        data, replaced = replace_non_finite(original)
        if data is original:
            return None
        try:
            decoded = _decode_columns(data, nested)
        except (msgspec.DecodeError, TooDeep, RecursionError):  # DecodeError: also invalid
            return None
    if decoded is None:
        return None
    return (*decoded, replaced)


def _decode_columns(
    data: bytes | memoryview, nested: bool
) -> tuple[dict[str, np.ndarray], dict[str, int]] | None:
    """Canonical columns and generation counts of a JSON array, or None to stream it.

    Raises:
        msgspec.DecodeError: not JSON as msgspec reads it (e.g. ``NaN`` tokens).
        msgspec.ValidationError: a value the streaming path would count as bad.
    """
    if nested:
        entries = _decode_strictly(data, NESTED_STRICT_DECODERS)
        if entries is None:  # keys beyond the documented ones: skipped, depth checked
            check_depth(data)
            try:
                entries = NESTED_DECODER.decode(data)
            except msgspec.ValidationError:  # e.g. an extra reward component
                entries = NESTED_DECODER_ANY_COMPONENTS.decode(data)
        return nested_columns(entries)
    data = bytes(data)
    if _mentions_nested(data):
        return None  # flat first, nested later: a mixed file
    entries = _decode_strictly(data, (FLAT_STANDARD_DECODER,))
    if entries is None:  # keys beyond the documented ones: read extras too
        check_depth(data)
        extras = tuple(sorted({m.decode() for m in _EXTRA_REWARD_KEYS.findall(data)}))
        entries = flat_decoder(extras).decode(data)
    return flat_columns(entries)


def _decode_strictly(data: bytes | memoryview, decoders: tuple) -> list | None:
    """Entries decoded by the first strict decoder that takes them, else None.

    Raises:
        TooDeep: a raw list of the entries nests deeper than the limit.
        msgspec.DecodeError: not JSON as msgspec reads it.
    """
    for decoder in decoders:
        try:
            entries = decoder.decode(data)
        except msgspec.ValidationError:
            continue
        if not raw_lists_are_flat(raw_lists(entries)):
            check_depth(data)  # something unusual in the raw lists: look closer
        return entries
    return None


_NESTED_KEY_BYTES = tuple(f'"{key}"'.encode() for key in NESTED_KEYS)


def _mentions_nested(data: bytes) -> bool:
    """Whether the text names a key only nested entries have."""
    return any(key in data for key in _NESTED_KEY_BYTES)


_EXTRA_REWARD_KEYS = re.compile(
    rb'"(reward_(?!(?:total|step|components|event|level|heal|badge|explore|dead|stuck)")'
    rb'[^"\\]*)"\s*:'
)
