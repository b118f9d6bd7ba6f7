"""Distributed ingest on Dask: an executor whose workers read log files (``--scheduler``).

``pokeviz ingest RUN --scheduler tcp://HOST:PORT`` sends the per-file work
(:func:`pokeviz.cache.ingest_job`) to the workers of a running Dask scheduler;
``--scheduler local:N`` starts a ``LocalCluster`` of N worker processes for the command.
The cache that results is the one a local ingest writes: the client still decides what
is stale, and records every result in the manifest and the packs itself. Workers that
can reach the run's folder write its sidecars there (atomically); the others send them
back for the client to write.

Needs the optional ``distributed`` package: ``pip install 'pokeviz[cluster]'``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import PokevizError

#: How long a remote scheduler has to answer, and to have at least one worker.
CONNECT_SECONDS = 10
WORKER_WAIT_SECONDS = 60
#: Dask runs a task again on another worker when its worker dies or it raises; a file
#: that still fails after that is reported like a file that fails locally.
RETRIES = 2

_LOCAL = re.compile(r"local(?::(\d+))?")


class ClusterError(PokevizError):
    """The Dask cluster cannot be used (not installed, unreachable, no worker)."""


def parse_scheduler(scheduler: str) -> tuple[str, Any]:
    """What ``--scheduler`` names.

    Returns:
        ``("local", n_workers)`` for ``local`` (one worker per core) or ``local:N``;
        ``("file", path)`` for a scheduler file (``dask scheduler --scheduler-file``);
        ``("address", text)`` for anything else, e.g. ``tcp://10.0.0.5:8786``.

    Raises:
        ClusterError: ``local:0`` or a malformed ``local:`` count.
    """
    text = scheduler.strip()
    match = _LOCAL.fullmatch(text)
    if match:
        workers = int(match.group(1)) if match.group(1) else (os.cpu_count() or 1)
        if workers < 1:
            raise ClusterError(f"--scheduler {scheduler}: local:N needs at least 1 worker")
        return "local", workers
    if text.startswith("local"):
        raise ClusterError(
            f"--scheduler {scheduler}: write local:N with a whole number of workers, e.g. local:2"
        )
    if text.endswith(".json") and Path(text).is_file():
        return "file", Path(text)
    return "address", text


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(
            "--scheduler needs Dask distributed, which is not installed: "
            "pip install 'pokeviz[cluster]'"
        ) from exc
    return distributed


@contextmanager
def cluster_executor(scheduler: str) -> Iterator[Executor]:
    """An executor on a Dask cluster, for :func:`pokeviz.api.open_run` (``executor=``).

    One cluster can serve many runs: pass the same executor to every ``open_run`` (or
    ``ingest``) call inside the ``with`` block, as ``compare`` over many runs does.

    Args:
        scheduler: ``local:N`` (start N local worker processes, one thread each),
            ``local`` (one per core), a scheduler address (``tcp://HOST:PORT``) or a
            scheduler file.

    Yields:
        ``Client.get_executor()``: a ``concurrent.futures.Executor`` whose tasks run on
        the workers, retried up to :data:`RETRIES` times.

    Raises:
        ClusterError: ``distributed`` is not installed, the scheduler cannot be reached,
            no worker joins within :data:`WORKER_WAIT_SECONDS`, or a worker cannot
            import pokeviz (one line naming the scheduler and what to do).

    Cost: connecting takes well under a second; ``local:N`` starts N processes (a few
    seconds). Closing a ``local:N`` cluster stops its processes; a remote cluster keeps
    running.
    """
    distributed = _distributed()
    kind, target = parse_scheduler(scheduler)
    cluster = None
    try:
        if kind == "local":
            cluster = distributed.LocalCluster(
                n_workers=target, threads_per_worker=1, processes=True,
                # ":0": any free port; the default 8787 warns when another cluster has it
                dashboard_address=":0", silence_logs=logging.ERROR,
            )  # fmt: skip
            client = distributed.Client(cluster, set_as_default=False)
        elif kind == "file":
            client = distributed.Client(scheduler_file=str(target), timeout=CONNECT_SECONDS,
                                        set_as_default=False)  # fmt: skip
        else:
            client = distributed.Client(target, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise ClusterError(
            f"--scheduler {scheduler}: cannot reach the Dask scheduler ({_first_line(exc)}); "
            "start one with `dask scheduler` and workers with `dask worker ADDRESS`, or "
            "use --scheduler local:N"
        ) from exc
    try:
        _check_workers(client, scheduler)
        yield client.get_executor(retries=RETRIES, pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _pokeviz_version() -> str:
    import pokeviz

    return pokeviz.__version__


def _check_workers(client: Any, scheduler: str) -> None:
    """At least one worker, and every worker runs the same pokeviz as this client."""
    from . import __version__

    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (TimeoutError, OSError) as exc:
        raise ClusterError(
            f"--scheduler {scheduler}: no Dask worker joined within {WORKER_WAIT_SECONDS} s; "
            f"start workers with `dask worker {scheduler}`"
        ) from exc
    try:
        versions = client.run(_pokeviz_version)
    except Exception as exc:  # a worker without pokeviz fails to unpickle the function
        raise ClusterError(
            f"--scheduler {scheduler}: a worker cannot run pokeviz ({_first_line(exc)}); "
            "install the same pokeviz on every worker"
        ) from exc
    other = sorted(f"{worker} has {v}" for worker, v in versions.items() if v != __version__)
    if other:
        raise ClusterError(
            f"--scheduler {scheduler}: workers run another pokeviz ({'; '.join(other)}; "
            f"this is {__version__}); install the same version on every worker"
        )
