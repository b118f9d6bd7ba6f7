"""The Parquet files of the cache: one log file's summary as three tables, and packs of many.

A log file's summary is three tables (``samples``, ``positions``, ``stats``; columns in
``cache/README.md``). They are first written as *loose* sidecars, one set per log file
version (``<stem>.<size_bytes>-<mtime_ns>.<kind>.parquet``), then gathered into *packs*
(``pack-<id>.<kind>.parquet``, the rows of many log files), so that opening a run reads
a handful of files however many log files it has.

Arrow arrays are built from buffers: ``pa.array``/``pa.table`` import pandas (~0.2 s and
~45 MB per process) only to check whether their argument is a DataFrame.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .discover import printable
from .formats import CORE_COLUMNS, INT_COLUMNS
from .manifest import KINDS, sidecar_paths
from .outputs import atomic_write

if TYPE_CHECKING:
    from .ingest import FileSummary

POSITION_COLUMNS = ("map", "x", "y", "visits", "first_entry_index")

_INT_SET = frozenset(INT_COLUMNS) | {"entry_index", "sample_key"}


# ---------------------------------------------------------------------------
# Arrow arrays


def numbers(values: Any, kind: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    """An int64/float64 Arrow array of ``values``; null where ``mask`` is True."""
    data = np.ascontiguousarray(values, dtype=kind.to_pandas_dtype())
    nulls = 0 if mask is None else int(np.count_nonzero(mask))
    validity = pa.py_buffer(np.packbits(~mask, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(kind, len(data), [validity, pa.py_buffer(data)], nulls)


def optional_ints(values: Sequence[int | None]) -> pa.Array:
    """An int64 Arrow array; None becomes null."""
    mask = np.array([v is None for v in values], dtype=bool)
    return numbers([0 if v is None else v for v in values], pa.int64(), mask)


def strings(values: Sequence[str | None]) -> pa.Array:
    """A string Arrow array; None becomes null."""
    encoded = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    mask = np.array([v is None for v in values], dtype=bool)
    nulls = int(np.count_nonzero(mask))
    validity = pa.py_buffer(np.packbits(~mask, bitorder="little")) if nulls else None
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [validity, pa.py_buffer(offsets), data], nulls
    )


def table(columns: dict[str, pa.Array]) -> pa.Table:
    """An Arrow table of named arrays (without the pandas import of ``pa.table``)."""
    return pa.Table.from_arrays(list(columns.values()), names=list(columns))


def _column(name: str, values: np.ndarray) -> pa.Array:
    mask = np.isnan(values) if values.dtype.kind == "f" else None
    if name in _INT_SET:
        filled = np.where(mask, 0, values) if mask is not None else values
        return numbers(filled.astype(np.int64), pa.int64(), mask)
    return numbers(values, pa.float64(), mask)


# ---------------------------------------------------------------------------
# One summary


def summary_tables(summary: FileSummary) -> dict[str, pa.Table]:
    """The three sidecar tables of one summary (schema documented in ``cache/README.md``).

    The ``file`` column holds :func:`printable` of the log file's name.
    """
    name = printable(summary.file)
    n_samples = len(summary.samples.get("entry_index", ()))
    samples = {"file": strings([name] * n_samples)}
    # A file without entries still gets every standard column, so that a run whose
    # files all failed still has the documented schema.
    empty = np.array([], dtype=np.float64)
    for column in dict.fromkeys(("entry_index", "sample_key", *CORE_COLUMNS, *summary.samples)):
        samples[column] = _column(column, summary.samples.get(column, empty))
    positions = {"file": strings([name] * len(summary.positions.get("map", ())))}
    for column in POSITION_COLUMNS:
        positions[column] = numbers(summary.positions.get(column, []), pa.int64())
    rows = summary.stats
    stats = {
        "file": strings([name] * len(rows)),
        "metric": strings([row[0] for row in rows]),
        "n": numbers([row[1] for row in rows], pa.int64()),
        "min": numbers([row[2] for row in rows], pa.float64()),
        "max": numbers([row[3] for row in rows], pa.float64()),
        "mean": numbers([row[4] for row in rows], pa.float64()),
        "std": numbers([row[5] for row in rows], pa.float64()),
    }
    return {"samples": table(samples), "positions": table(positions), "stats": table(stats)}


def parquet_bytes(data: pa.Table) -> bytes:
    """A table as the bytes of a Parquet file."""
    sink = io.BytesIO()
    pq.write_table(data, sink)
    return sink.getvalue()


def read_parquet(path: Path | bytes) -> pa.Table:
    """A Parquet file (a path, any bytes in its name, or the file's bytes) as a table.

    Read through ``ParquetFile``: ``pq.read_table`` imports ``pyarrow.dataset`` and,
    with it, pandas (~2 s on a loaded machine).

    Raises:
        OSError: the file cannot be opened; ``pyarrow.ArrowInvalid``: not Parquet.
    """
    if isinstance(path, bytes):
        return pq.ParquetFile(pa.BufferReader(path)).read()
    with open(path, "rb") as handle:
        return pq.ParquetFile(handle).read()


def write_tables(
    cache_dir: Path, stem: str, tables: dict[str, pa.Table | bytes], *, durable: bool = True
) -> None:
    """Write the three tables of ``stem`` (Arrow tables or Parquet bytes) atomically.

    ``durable=False`` skips the fsyncs: for loose sidecars, which live only until the
    end of the update, and which the staleness check (``PAR1`` marks) finds broken and
    reads again if a power loss left them empty.

    Raises:
        OutputError: a file cannot be written (disk full, permissions, …).
    """
    paths = sidecar_paths(cache_dir, stem)
    for kind in KINDS:
        data = tables[kind]
        if isinstance(data, bytes):
            atomic_write(paths[kind], data, durable=durable)
        else:
            atomic_write(
                paths[kind], lambda handle, data=data: pq.write_table(data, handle),
                durable=durable,
            )


# ---------------------------------------------------------------------------
# Packs


def gather(parts: list[pa.Table], kind: str) -> pa.Table:
    """Concatenate tables of one kind; columns missing from some parts become null."""
    if len(parts) == 1:
        return parts[0]
    gathered = pa.concat_tables(parts, promote_options="default")
    return gathered.combine_chunks() if kind != "positions" else gathered


def filter_files(data: pa.Table, keep: set[str]) -> pa.Table:
    """The rows of ``data`` whose ``file`` is in ``keep`` (display names)."""
    import pyarrow.compute as pc

    if data.num_rows == 0:
        return data
    return data.filter(pc.is_in(data.column("file"), value_set=strings(sorted(keep))))
