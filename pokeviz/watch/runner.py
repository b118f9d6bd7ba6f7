"""The observe loop of ``pokeviz watch``: wait for the run, catch up, tick until stopped."""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..discover import Run, is_run, latest_run
from ..errors import RunNotFoundError
from .redraw import RedrawMode, Renderer
from .schedule import DEBOUNCE_SECONDS, POLL_SECONDS, RunWatcher
from .status import StatusCallback

#: Longest the observe loop sleeps before looking at its stop event again.
_MAX_WAIT_SECONDS = 0.25


def render_figures(
    run: Run, *, formats: Sequence[str] = ("png",), map_data: str | Path | None = None
) -> Any:
    """The default renderer: :func:`pokeviz.plots.plot_run` (imported on first use).

    Passes ``update=False``, so that the watcher alone decides when a log file is read.
    """
    from .. import plots

    return plots.plot_run(run, formats=tuple(formats), map_data=map_data, update=False)


def find_run(path: Path) -> tuple[Run | None, str]:
    """The run to watch at ``path`` if its ``json_logs/`` exists yet, else why not.

    ``path`` is a run directory, or a variant directory (its latest run, by
    :func:`pokeviz.discover.latest_run`).

    Raises:
        RunNotFoundError: ``path`` can never become a run: it, or the nearest of its
            ancestors that exists, is not a folder, or its ``json_logs`` is not a folder.
    """
    if not path.exists():
        blocker = next((p for p in path.parents if p.exists()), None)
        if blocker is not None and not blocker.is_dir():
            raise RunNotFoundError(
                f"{path}: can never become a run, {blocker} is a file; "
                "pass a run or variant directory"
            )
        return None, f"{path} does not exist yet"
    if not path.is_dir():
        raise RunNotFoundError(f"{path}: not a directory; pass a run or variant directory")
    if is_run(path):
        return Run(path.resolve()), ""
    if (path / "json_logs").exists():
        raise RunNotFoundError(
            f"{path / 'json_logs'}: not a folder; pass a run directory (the one holding "
            "json_logs/)"
        )
    latest = latest_run(path)
    if latest is not None:
        return Run(latest.path.resolve()), ""
    return None, f"{path / 'json_logs'} does not exist yet"


def wait_for_run(
    path: Path, *, stop: threading.Event, poll_seconds: float, on_status: StatusCallback
) -> Run | None:
    """Return the run at ``path`` once its ``json_logs/`` exists; None if ``stop`` is set first.

    Says once what it waits for (and again when that changes), then checks every
    ``poll_seconds``.

    Raises:
        RunNotFoundError: ``path`` can never become a run (see :func:`find_run`).
    """
    said = ""
    while not stop.is_set():
        run, why = find_run(path)
        if run is not None:
            return run
        if why != said:
            on_status(f"waiting: {why} (training not started yet?); Ctrl-C to stop")
            said = why
        stop.wait(poll_seconds)
    return None


class _Stop(BaseException):
    """Raised in the main thread by SIGTERM to abandon the work in hand."""


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[list[int]]:
    """In the main thread: SIGTERM raises :class:`_Stop`, Ctrl-C KeyboardInterrupt.

    Yields the list of signals received so far (the caller decides the outcome from
    it, since a library may turn the raised exception into another one).

    Either also sets ``stop`` and kills the worker processes started since entering
    (the cache's reader pool: a file being read is abandoned, and the cache's atomic
    writes keep it consistent); processes that already existed are left alone. Only
    the first signal raises, so the clean-up that follows is not interrupted. Off the
    main thread (tests, a notebook's worker thread) does nothing.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    existing = set(multiprocessing.active_children())

    def handle(signum: int, frame: Any) -> None:
        first = not stop.is_set()
        received.append(signum)
        stop.set()
        for child in multiprocessing.active_children():
            if child not in existing:
                child.kill()
        if first:
            raise KeyboardInterrupt if signum == signal.SIGINT else _Stop

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def watch_run(
    run_path: str | Path,
    *,
    formats: Sequence[str] = ("png",),
    debounce_seconds: float = DEBOUNCE_SECONDS,
    poll: bool = False,
    poll_seconds: float = POLL_SECONDS,
    map_data: str | Path | None = None,
    render: Renderer | None = None,
    jobs: int | None = None,
    stop_event: threading.Event | None = None,
    on_status: StatusCallback = print,
    verbose: bool = False,
) -> Run | None:
    """Watch a run until stopped: keep its cache and figures current (``pokeviz watch``).

    Waits (saying so) until ``run_path`` and its ``json_logs/`` exist, catches up
    (reads every stale file, draws), then observes ``json_logs/`` with watchdog and
    reads each new or grown ``stats_*.json`` once it is ready, following the policy of
    :mod:`pokeviz.watch.policy`: a file read while incomplete is cached ``partial`` and
    read again once it changes; it is never cached ``ok``. Figures are redrawn at most
    once per ``debounce_seconds``, in a worker process (a given ``render``: in a thread),
    so files go on being read while a redraw runs. One status line is reported per update.

    Args:
        run_path: a run directory, or a variant directory (its latest run).
        formats: figure formats for the default renderer.
        debounce_seconds: see :class:`RunWatcher`.
        poll: use watchdog's ``PollingObserver`` (no open/close events: files are taken
            when stable across two checks or complete) instead of the OS's events.
        poll_seconds: seconds between size/mtime checks (and between polls).
        map_data: a ``map_data.json`` for the default renderer's heatmap.
        render: replaces the default renderer (``pokeviz.plots.plot_run``).
        jobs: worker processes for reading several files at once (default: cores).
        stop_event: set it (from another thread) to stop watching.
        on_status: receives each status line.
        verbose: report every file read, and tracebacks.

    Returns:
        The watched run, or None when stopped before it appeared. Returns normally on
        ``stop_event`` (after a running redraw ended) and on SIGTERM (in the main
        thread; a running redraw is abandoned, its files are written atomically).

    Raises:
        MapTableError: ``map_data`` is given but cannot be read (checked at the start).
        RunNotFoundError: ``run_path`` can never become a run (a file, or a path below
            one), checked at the start.
        KeyboardInterrupt: on Ctrl-C, after the observer was stopped and joined (the
            CLI exits 130). The file in hand is abandoned; the cache stays consistent.
    """
    stop = stop_event if stop_event is not None else threading.Event()
    find_run(Path(run_path))  # a path that can never become a run fails now
    # The default renderer draws in a worker process (killed at once by a stop);
    # a caller's renderer may be a closure, which only a thread can run.
    redraw_in: RedrawMode = "process" if render is None else "thread"
    if render is None:
        if map_data is not None:
            from ..kanto import load_map_table

            load_map_table(map_data)  # a wrong --map-data fails now, not at every redraw
        render = functools.partial(render_figures, formats=formats, map_data=map_data)
    run: Run | None = None
    with _stop_on_signals(stop) as received:
        try:
            run = wait_for_run(
                Path(run_path), stop=stop, poll_seconds=poll_seconds, on_status=on_status
            )
            if run is not None:
                watcher = RunWatcher(
                    run,
                    render=render,
                    debounce_seconds=debounce_seconds,
                    poll_seconds=poll_seconds,
                    jobs=jobs,
                    on_status=on_status,
                    verbose=verbose,
                    stop_event=stop,
                    redraw_in=redraw_in,
                )
                try:
                    _observe(watcher, poll=poll, stop=stop)
                finally:
                    watcher.close(wait=not received)
        except (_Stop, KeyboardInterrupt):
            if not received:
                raise  # not one of our signals
    # A library in the middle (DuckDB: "Query interrupted") may have turned the signal's
    # exception into an ordinary error; what counts is which signal arrived.
    if signal.SIGINT in received:
        raise KeyboardInterrupt
    on_status("stopped (SIGTERM)" if signal.SIGTERM in received else "stopped")
    return run


def _observe(watcher: RunWatcher, *, poll: bool, stop: threading.Event) -> None:
    """Start an observer on the run's ``json_logs/``, catch up, tick until ``stop``;
    always stop and join the observer."""
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    logs_dir = watcher.run.logs_dir
    observer = PollingObserver(timeout=watcher.poll_seconds) if poll else Observer()
    observer.schedule(watcher.handler, str(logs_dir), recursive=False)
    # Observe before catching up, so that nothing written meanwhile is missed.
    observer.start()
    try:
        watcher.on_status(
            f"watching {logs_dir} ({'polling' if poll else 'file events'}); catching up"
        )
        watcher.catch_up(time.monotonic())
        while not stop.is_set():
            timeout = watcher.seconds_until_due(time.monotonic())
            watcher.handler.wake.wait(min(timeout, _MAX_WAIT_SECONDS))
            watcher.handler.wake.clear()
            if not stop.is_set():
                watcher.tick(time.monotonic())
    finally:
        observer.stop()
        observer.join()
