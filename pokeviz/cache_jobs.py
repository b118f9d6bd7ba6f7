"""The unit of work of a cache update: one log file read by a worker, and the pool running them.

:func:`ingest_job` is module-level and picklable, for a local process pool or a Dask
``Client.get_executor()``; :func:`results` hands its results back as they finish.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .discover import printable
from .errors import OutputError
from .manifest import KINDS, SIDECARS, sidecar_stem

if TYPE_CHECKING:
    from .ingest import FileSummary

#: Jobs handed to an outside executor (a Dask cluster) at a time.
EXECUTOR_WINDOW = 256


def manifest_entry(summary: FileSummary) -> dict[str, Any]:
    """The manifest record of a summary (everything but the tables), loose sidecars."""
    return {
        "size_bytes": summary.size_bytes,
        "mtime_ns": summary.mtime_ns,
        "status": summary.status,
        "format": summary.format,
        "entries": summary.entries,
        "bad_values": summary.bad_values,
        "skipped_entries": summary.skipped_entries,
        "total_steps": summary.total_steps,
        "error": summary.error,
        "warning": summary.warning,
        "parser": summary.parser,
        "sidecar": sidecar_stem(printable(summary.file), summary.size_bytes, summary.mtime_ns),
    }


def ingest_job(
    path: str, cache_dir: str, fast_path_max_bytes: int | None = None, write: bool = True
) -> dict[str, Any]:
    """Read one log file and write its loose sidecars; the unit of work of every worker.

    Module-level and picklable, for a process pool or a Dask ``Client.get_executor()``.
    A worker that cannot write ``cache_dir`` (another machine without the run's file
    system) returns the Parquet bytes instead, and the caller packs the tables.
    ``write=False`` (the local process pool) writes nothing: the tables go back to the
    caller, which packs them (three small Parquet writes per file were a sixth of a
    small file's cost).

    Returns:
        ``{"file": name, "entry": manifest record, "tables": {kind: pyarrow.Table},
        "parquet": {kind: bytes} or None, "written": whether the loose sidecars were
        written here}``.

    Raises:
        OutputError: the sidecars cannot be written although the folder is writable.
    """
    from .ingest import ingest_file
    from .sidecars import parquet_bytes, summary_tables, write_tables

    if fast_path_max_bytes is None:
        from .ingest import FAST_PATH_MAX_BYTES as fast_path_max_bytes
    summary = ingest_file(path, fast_path_max_bytes=fast_path_max_bytes)
    entry = manifest_entry(summary)
    tables = summary_tables(summary)
    folder = Path(cache_dir) / SIDECARS
    parquet, written = None, False
    if not write:
        pass
    elif folder.is_dir() and os.access(folder, os.W_OK):
        write_tables(Path(cache_dir), entry["sidecar"], tables, durable=False)
        written = True
    else:
        parquet = {kind: parquet_bytes(tables[kind]) for kind in KINDS}
    return {"file": summary.file, "entry": entry, "tables": tables, "parquet": parquet,
            "written": written}


def results(
    stale: list[Path], cache_dir: Path, jobs: int | None, fast_path_max_bytes: int | None,
    executor: Executor | None,
) -> Iterator[tuple[Path, dict[str, Any] | BaseException]]:
    """(path, ingest_job result or the exception of a failed worker), as they finish.

    A disk-full or other write failure (``OutputError``) stops the update; any other
    worker failure is the file's problem.
    """
    args = (str(cache_dir), fast_path_max_bytes)
    jobs = max(1, jobs or os.cpu_count() or 1)
    if executor is None and (jobs == 1 or len(stale) <= 1):
        for path in stale:
            yield path, ingest_job(str(path), *args)
        return
    if executor is None:  # imported here: multiprocessing is not needed to read a cache
        from concurrent.futures import ProcessPoolExecutor

        pool: Executor = ProcessPoolExecutor(max_workers=min(jobs, len(stale)))
    else:
        pool = executor
    # Local workers hand their tables back without writing them: this process packs
    # them. Remote workers write their loose sidecars, as a checkpoint of their own.
    args = (*args, executor is not None)
    # A window of jobs in flight, not all at once: finished results would otherwise pile
    # up in memory while this process writes a pack (memory grew with the files).
    window = 4 * jobs if executor is None else EXECUTOR_WINDOW
    queue = iter(stale)
    running: dict[Future[dict[str, Any]], Path] = {}
    try:
        for path in itertools.islice(queue, window):
            running[pool.submit(ingest_job, str(path), *args)] = path
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                path = running.pop(future)
                try:
                    result: dict[str, Any] | BaseException = future.result()
                except OutputError:
                    raise
                except Exception as exc:
                    result = exc
                del future
                for following in itertools.islice(queue, 1):
                    running[pool.submit(ingest_job, str(following), *args)] = following
                yield path, result
    finally:
        if executor is None:
            pool.shutdown(cancel_futures=True)
