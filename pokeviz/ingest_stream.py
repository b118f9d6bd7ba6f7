"""The streaming parse path: ijson yields one entry at a time, memory O(block + samples + tiles).

Reads whatever the fast path does not take: files cut off while training writes them,
files bigger than the fast path's budget, and files msgspec rejects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from .depth import DepthScanner, TooDeep
from .formats import FORMATS, canonical_entry, entry_format
from .ingest_summary import (
    BLOCK_ENTRIES,
    FileSummary,
    SummaryBuilder,
    finish_summary,
    too_deep,
    warn,
)
from .nonfinite import NonFiniteFilter

BOM = b"\xef\xbb\xbf"


def _float_array(values: list[Any]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _rows_to_block(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return {name: _float_array([row.get(name) for row in rows]) for name in names}


class _DepthGuard:
    """A binary stream that checks the nesting depth of every byte before passing it on.

    ijson keeps state per open level, so it must never see a text deeper than the limit.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.scanner = DepthScanner()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.scanner.feed(data)
        return data


def streaming_path(
    summary: FileSummary, handle: BinaryIO, bom: bool, complete: bool
) -> FileSummary:
    """Summarize the file behind ``handle`` (at offset 0) with ijson, one entry at a time.

    Args:
        summary: the summary to fill (name, size and mtime already set).
        handle: the open file.
        bom: whether the file starts with a UTF-8 byte-order mark (skipped).
        complete: whether the file ends like a finished ``json.dump``; a parse failure
            in a file that does not is ``partial`` (still being written), else ``error``.

    Returns:
        ``summary``, filled. Memory: O(one block + samples + tiles + one chunk), whatever
        the file's size or nesting (deeper than the limit: ``error``, nothing kept).
    """
    import ijson  # imported by readers only (a warm run reads no log file)

    summary.parser = "ijson"
    if bom:
        handle.read(len(BOM))
    stream = NonFiniteFilter(_DepthGuard(handle))
    builder = SummaryBuilder()
    formats = dict.fromkeys(FORMATS, 0)
    rows: list[dict[str, Any]] = []
    bad = skipped = 0
    failure: str | None = None
    try:
        for entry in _items(stream):
            if not isinstance(entry, dict):
                skipped += 1
                continue
            row, row_bad = canonical_entry(entry)
            bad += row_bad
            formats[entry_format(entry)] += 1
            rows.append(row)
            if len(rows) == BLOCK_ENTRIES:
                builder.add_block(_rows_to_block(rows))
                rows = []
    except ijson.JSONError as exc:
        failure = str(exc).splitlines()[0].strip()
    except TooDeep as exc:
        return too_deep(summary, exc)
    except OSError as exc:
        failure = f"read error: {exc.strerror}"
    if rows:
        builder.add_block(_rows_to_block(rows))
    summary.bad_values = bad + stream.replaced
    summary.skipped_entries = skipped
    if skipped:
        warn(summary, f"{skipped} entries are not JSON objects and were skipped")
    finish_summary(summary, builder, formats)
    if failure is not None:
        if not complete and "trailing garbage" not in failure:
            summary.status = "partial"
            summary.error = (
                f"cut off after {summary.entries} complete entries ({failure}); "
                "normal while training writes it, it is read again when it changes"
            )
        else:
            summary.status = "error"
            summary.error = (
                f"not valid JSON ({failure}); the {summary.entries} complete entries "
                "before the problem were kept"
            )
    return summary


def _items(stream: NonFiniteFilter) -> Iterator[Any]:
    import ijson

    return ijson.items(stream, "item", use_float=True)


def ijson_backend() -> str:
    """The ijson backend in use (``yajl2_c`` is the fast C one)."""
    import ijson

    return ijson.backend
