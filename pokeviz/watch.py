"""Live ``pokeviz watch``: keep a run's cache and figures current while training writes it.

A :class:`LogEventHandler` (a watchdog handler) only *records* which ``stats_*.json``
names changed; a :class:`RunWatcher` decides, one :meth:`RunWatcher.tick` at a time,
which of them to read and when to re-render; :func:`watch_run` is the small observe
loop around both. Time is passed into ``tick(now)``, so tests drive the watcher with
made-up events and a made-up clock, without sleeping.

The partial-file policy (the same words are in the user docs):

* Events are hints; the truth is each file's size and mtime compared with the cache
  manifest. A file whose size or mtime differ from its cached version is *changed*.
* A changed file is read when it is *ready*: a close-after-write, rename or delete
  event named it (native observer only), or its size and mtime were the same at two
  checks ``poll_seconds`` apart, or it looks complete (its last non-blank bytes are
  ``}`` then ``]``, which in these logs only occurs at the end of the top-level
  array). Created/modified events alone never trigger a read, so a file that training
  is still writing is not read over and over.
* A file read while incomplete is cached as ``partial`` (its complete entries count)
  and read again once it changes and is ready again; it is never cached as ``ok``.
* A deleted file drops out of the cache, and out of the next render.
* The watcher's own reads produce opened / closed-no-write events; they are ignored.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import math
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)

from .cache import CacheUpdate, read_manifest, update_cache
from .discover import LOG_GLOB, Run, list_log_files, runs_of_variant
from .errors import PokevizError

#: Default seconds between two re-renders of the figures (``--debounce-seconds``).
DEBOUNCE_SECONDS = 10.0
#: Default seconds between two size/mtime checks, and between polls with ``--poll``.
POLL_SECONDS = 2.0
#: Longest the observe loop sleeps before looking at its stop event again.
_MAX_WAIT_SECONDS = 0.25
#: Bytes read from the end of a file to see whether it looks complete.
_TAIL_BYTES = 64

StatusCallback = Callable[[str], Any]
Renderer = Callable[[Run], Any]


# ---------------------------------------------------------------------------
# The handler: records names, does no work


@dataclass(frozen=True)
class Changes:
    """Log file names named by events since the last :meth:`LogEventHandler.take`.

    ``finished``: closed after writing, renamed from or to, or deleted: worth a look now.
    ``written``: created, modified or attribute-changed: probably still being written.
    """

    finished: frozenset[str] = frozenset()
    written: frozenset[str] = frozenset()


class LogEventHandler(FileSystemEventHandler):
    """Watchdog handler that records which ``stats_*.json`` names changed.

    Thread-safe: the observer thread calls :meth:`dispatch`, the watch loop calls
    :meth:`take`. Directory events, names that are not log files, and the opened /
    closed-no-write events that reading a file produces are ignored. Events that mean
    "this file is done" (closed after write, moved, deleted) also set :attr:`wake` so
    the loop does not wait for its next periodic check; created/modified events do
    not, because a file being written produces one per write.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._finished: set[str] = set()
        self._written: set[str] = set()
        #: Set when a "finished" event arrives; the loop clears it before each tick.
        self.wake = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        """Record the log file names of one event (see the class docstring)."""
        if event.is_directory or event.event_type in (
            EVENT_TYPE_OPENED,
            EVENT_TYPE_CLOSED_NO_WRITE,
        ):
            return
        paths = [event.src_path]
        if event.event_type == EVENT_TYPE_MOVED:
            paths.append(event.dest_path)
        names = [os.path.basename(os.fsdecode(p)) for p in paths if p]
        names = [n for n in names if is_log_name(n)]
        if not names:
            return
        finished = event.event_type in (EVENT_TYPE_CLOSED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED)
        with self._lock:
            (self._finished if finished else self._written).update(names)
        if finished:
            self.wake.set()

    def take(self) -> Changes:
        """Return and forget the names recorded so far."""
        with self._lock:
            changes = Changes(frozenset(self._finished), frozenset(self._written))
            self._finished.clear()
            self._written.clear()
        return changes


def is_log_name(name: str) -> bool:
    """True for a file name that :func:`pokeviz.discover.list_log_files` would list."""
    return fnmatch.fnmatchcase(name, LOG_GLOB)


def looks_complete(path: Path) -> bool:
    """True when a log file ends like a finished ``json.dump``: ``}`` then ``]`` (or ``[]``).

    Entries hold objects and lists of numbers but never lists of objects, so ``}``
    followed by ``]`` only occurs where the top-level array closes. Reads at most
    ``_TAIL_BYTES`` bytes; False when the file cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read().rstrip()
    except OSError:
        return False
    return tail.endswith(b"]") and tail[:-1].rstrip()[-1:] in (b"}", b"[")


# ---------------------------------------------------------------------------
# The watcher: decides what to read and when to render


@dataclass
class Tick:
    """What one :meth:`RunWatcher.tick` did."""

    update: CacheUpdate | None = None
    rendered: bool = False
    read: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CacheTotals:
    """What a run's cache holds: the numbers of a status line."""

    files: int = 0
    entries: int = 0
    first_global_step: int | None = None
    last_global_step: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)


def cache_totals(run: Run) -> CacheTotals:
    """Files, entries, global step range and per-status file counts of a run's cache.

    Uses the ``files`` view, so the step range follows the documented global-step
    definition. Cost: loads the run's small sidecars into DuckDB once.

    Raises:
        CacheError: the run has no usable cache.
    """
    from .api import open_run

    with open_run(run, update=False, reservoir_size=0) as view:
        report = view.report
    return CacheTotals(
        report.files,
        report.entries,
        report.first_global_step,
        report.last_global_step,
        report.statuses,
    )


def render_figures(
    run: Run, *, formats: Sequence[str] = ("png",), map_data: str | Path | None = None
) -> Any:
    """The default renderer: :func:`pokeviz.plots.plot_run` (imported on first use).

    Passes ``update=False``, so that the watcher alone decides when a log file is read.
    """
    from . import plots

    return plots.plot_run(run, formats=tuple(formats), map_data=map_data, update=False)


class RunWatcher:
    """The state of one watched run: what is cached, what changed, when to render.

    Drive it with :meth:`catch_up` once, then :meth:`tick` whenever the handler woke
    the loop or :meth:`seconds_until_due` has passed. ``now`` is any monotonic clock in
    seconds; nothing here sleeps or reads the clock itself, so tests pass made-up times.

    Args:
        run: the run (its ``json_logs/`` folder must exist).
        render: draws the run's figures; called with the run, at most once per
            ``debounce_seconds`` after changes (and once after :meth:`catch_up`). It
            must write atomically; its exceptions are reported, not raised.
        debounce_seconds: a change is rendered ``debounce_seconds`` after the first
            change the figures do not show yet, so renders are at least that far apart
            and a burst of files gives one render.
        poll_seconds: seconds between two size/mtime checks of every log file.
        jobs: worker processes for reading several files at once (default: cores).
        on_status: receives each status line.
        verbose: also report every file read, and tracebacks.
        wall_clock: gives the time printed in status lines (``time.time``).
        stop_event: once set, failures (work interrupted by the stop) are not reported.
    """

    def __init__(
        self,
        run: Run,
        *,
        render: Renderer,
        debounce_seconds: float = DEBOUNCE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        jobs: int | None = None,
        on_status: StatusCallback = print,
        verbose: bool = False,
        wall_clock: Callable[[], float] = time.time,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.run = run
        self.stop_event = stop_event
        self.render = render
        self.debounce_seconds = debounce_seconds
        self.poll_seconds = poll_seconds
        self.jobs = jobs
        self.on_status = on_status
        self.verbose = verbose
        self.wall_clock = wall_clock
        self.handler = LogEventHandler()
        #: The manifest records, as of the last update.
        self.cached: dict[str, dict[str, Any]] = {}
        #: (size, mtime_ns) of each changed-but-not-read file at the last check.
        self._seen_at_check: dict[str, tuple[int, int]] = {}
        self._next_check = -math.inf
        self._render_due: float | None = None
        self._last_error: str | None = None

    # -- the steps ---------------------------------------------------------

    def catch_up(self, now: float) -> CacheUpdate | None:
        """Read every stale file (in-progress ones too: they are cached as partial),
        report, and schedule a render for ``now`` when the cache holds any file.

        Returns the update, or None when it failed (reported; later checks retry).
        """
        self._next_check = now + self.poll_seconds
        try:
            update = update_cache(self.run, jobs=self.jobs)
        except Exception as exc:  # reported; the periodic checks retry
            self._report_error(exc)
            return None
        self._after_update(update, now, always_report=True)
        self._render_due = now if self.cached else None
        return update

    def tick(self, now: float) -> Tick:
        """Take the handler's events, read the files that are ready, render when due.

        Checks every file's size and mtime when a "finished" event arrived or
        ``poll_seconds`` have passed since the last check; otherwise only renders if
        due. Failures (a vanished ``json_logs/``, an unwritable cache, a renderer
        error) are reported once per distinct message and the watcher goes on.
        """
        result = Tick()
        changes = self.handler.take()
        check = now >= self._next_check
        if changes.finished or check:
            if check:
                self._next_check = now + self.poll_seconds
            try:
                result.update = self._read_ready(changes.finished, check, now)
                self._last_error = None
            except Exception as exc:  # one failure is reported; watching goes on
                self._report_error(exc)
            if result.update is not None:
                result.read = list(result.update.ingested)
        if self._render_due is not None and now >= self._render_due:
            result.rendered = self._render(now)
        return result

    def seconds_until_due(self, now: float) -> float:
        """Seconds until the next periodic check or render (0 when overdue)."""
        due = self._next_check
        if self._render_due is not None:
            due = min(due, self._render_due)
        return max(0.0, due - now)

    # -- internals ---------------------------------------------------------

    def _current_versions(self) -> dict[str, tuple[int, int]]:
        versions = {}
        for path in list_log_files(self.run):
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished since the listing: dropped at the next update
            versions[path.name] = (stat.st_size, stat.st_mtime_ns)
        return versions

    def _cached_version(self, name: str) -> tuple[int, int] | None:
        entry = self.cached.get(name)
        return None if entry is None else (entry["size_bytes"], entry["mtime_ns"])

    def _read_ready(self, finished: Collection[str], check: bool, now: float) -> CacheUpdate | None:
        current = self._current_versions()
        changed = {n: v for n, v in current.items() if self._cached_version(n) != v}
        removed = [n for n in self.cached if n not in current]
        ready = {
            name
            for name, version in changed.items()
            if name in finished
            or (check and self._seen_at_check.get(name) == version)
            or looks_complete(self.run.logs_dir / name)
        }
        if check:
            self._seen_at_check = {n: v for n, v in changed.items() if n not in ready}
        if not ready and not removed:
            return None
        update = update_cache(
            self.run,
            jobs=self.jobs,
            only=ready,  # a new file that is not ready yet must wait
        )
        self._after_update(update, now)
        return update

    def _after_update(
        self,
        update: CacheUpdate,
        now: float,
        always_report: bool = False,
        schedule_render: bool = True,
        by: str = "",
    ) -> None:
        self.cached, _ = read_manifest(self.run.cache_dir)
        if not (update.ingested or update.removed or always_report):
            return
        if not self.cached:
            self._render_due = None
        elif schedule_render and self._render_due is None:
            self._render_due = now + self.debounce_seconds
        self.on_status(self.status_line(update) + by)
        if self.verbose:
            for name in update.ingested:
                entry = self.cached.get(name, {})
                self.on_status(
                    f"  read {name}: {entry.get('status')}, {entry.get('entries', 0):,} entries, "
                    f"{entry.get('size_bytes', 0):,} bytes"
                )
            for name, status, message in update.problems:
                self.on_status(f"  problem {name}: {status}: {message}")

    def status_line(self, update: CacheUpdate) -> str:
        """One line: time, files by status, entries, global step range, this update,
        problems (the first two names)."""
        try:
            totals = cache_totals(self.run) if self.cached else CacheTotals()
        except Exception:  # the views failed: count from the manifest, without steps
            statuses: dict[str, int] = {}
            for entry in self.cached.values():
                statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
            entries = sum(entry.get("entries") or 0 for entry in self.cached.values())
            totals = CacheTotals(len(self.cached), entries, None, None, statuses)
        statuses = ", ".join(f"{v} {k}" for k, v in sorted(totals.statuses.items()))
        steps = (
            f"{totals.first_global_step:,} … {totals.last_global_step:,}"
            if totals.last_global_step is not None
            else "none"
        )
        problems = [p for p in update.problems if p[1] != "ok"]
        shown = ", ".join(f"{name} {status}" for name, status, _ in problems[:2])
        if len(problems) > 2:
            shown += f", +{len(problems) - 2} more"
        return (
            f"{self._clock()}  files {totals.files}"
            + (f" ({statuses})" if statuses else "")
            + f"  entries {totals.entries:,}  steps {steps}"
            + f"  read {len(update.ingested)}, removed {update.removed}"
            + f"  problems {len(problems)}"
            + (f": {shown}" if shown else "")
        )

    def _render(self, now: float) -> bool:
        self._render_due = None
        if not self.cached:
            return False
        started = time.perf_counter()
        try:
            result = self.render(self.run)
        except Exception as exc:  # a failed render is reported; the next change retries
            self._report_error(exc, what="figures not updated")
            return False
        # A renderer that updates the cache itself (plot_run without update=False) may
        # have read files: report them; the figures already show them.
        update = getattr(getattr(result, "report", None), "update", None)
        if isinstance(update, CacheUpdate):
            self._after_update(update, now, schedule_render=False, by="  (read by the renderer)")
        figures = _count_figures(result)
        self.on_status(
            f"{self._clock()}  figures updated"
            + (f" ({figures} files)" if figures is not None else "")
            + f" in {time.perf_counter() - started:.1f} s"
        )
        return True

    def _report_error(self, exc: Exception, what: str = "problem") -> None:
        if self.stop_event is not None and self.stop_event.is_set():
            return  # interrupted by the stop, not a failure
        message = str(exc) if isinstance(exc, PokevizError) else f"{type(exc).__name__}: {exc}"
        if message != self._last_error:
            self.on_status(f"{self._clock()}  {what}: {message}; still watching")
            if self.verbose:
                self.on_status(traceback.format_exc().rstrip())
        self._last_error = message

    def _clock(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.wall_clock()))


def _count_figures(result: Any) -> int | None:
    for name in ("paths", "files", "figures", "written"):
        value = getattr(result, name, None)
        if isinstance(value, (list, tuple, dict, set)):
            return len(value)
    return None


# ---------------------------------------------------------------------------
# Waiting for the run, signals, the observe loop


def find_run(path: Path) -> tuple[Run | None, str]:
    """The run to watch at ``path`` if its ``json_logs/`` exists yet, else why not.

    ``path`` is a run directory, or a variant directory (its latest run is taken).
    """
    if not path.exists():
        return None, f"{path} does not exist yet"
    if (path / "json_logs").is_dir():
        return Run(path.resolve()), ""
    runs = runs_of_variant(path)
    if runs:
        latest = runs[-1]
        if latest.logs_dir.is_dir():
            return Run(latest.path.resolve()), ""
        return None, f"{latest.logs_dir} does not exist yet"
    return None, f"{path / 'json_logs'} does not exist yet"


def wait_for_run(
    path: Path, *, stop: threading.Event, poll_seconds: float, on_status: StatusCallback
) -> Run | None:
    """Return the run at ``path`` once its ``json_logs/`` exists; None if ``stop`` is set first.

    Says once what it waits for (and again when that changes), then checks every
    ``poll_seconds``.
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
    (reads every stale file, renders), then observes ``json_logs/`` with watchdog and
    reads each new or grown ``stats_*.json`` once it is ready, following the module's
    partial-file policy: a file read while incomplete is cached ``partial`` and read
    again once it changes; it is never cached ``ok``. Figures are re-rendered at most
    once per ``debounce_seconds``. One status line is reported per update.

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
        ``stop_event`` and on SIGTERM (in the main thread).

    Raises:
        MapTableError: ``map_data`` is given but cannot be read (checked at the start).
        KeyboardInterrupt: on Ctrl-C, after the observer was stopped and joined (the
            CLI exits 130). The file in hand is abandoned; the cache stays consistent.
    """
    stop = stop_event if stop_event is not None else threading.Event()
    if render is None:
        if map_data is not None:
            from .kanto import load_map_table

            load_map_table(map_data)  # a wrong --map-data fails now, not at every render
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
                )
                _observe(watcher, poll=poll, stop=stop)
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
