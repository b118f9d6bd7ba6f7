"""Keep the cache of every run under an experiments folder current (``pokeviz serve``'s live part).

The same per-run reading code as ``pokeviz watch`` (:class:`~.tracker.RunTracker` and
the policy of :mod:`pokeviz.watch.policy`); no figures. One watchdog observer watches
the whole folder tree; one background thread catches every run up, then reads each new
or grown log file once it is ready. Runs and variants that appear later are picked up;
runs that disappear are dropped (their caches are never recreated).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..cache import CacheUpdate
from ..discover import Run, runs_of_variant, variants
from ..errors import RunNotFoundError
from .events import LogEventHandler
from .status import describe
from .tracker import RunTracker

UpdateCallback = Callable[[Run, CacheUpdate], None]
ErrorCallback = Callable[[str], None]

#: Longest the loop sleeps before looking at its stop event again.
_MAX_WAIT_SECONDS = 0.25
#: Stale files read per update while catching up, so that :meth:`stop` is not held long.
_CATCH_UP_BATCH = 8


@dataclass
class _RunState:
    """One run's tracker and schedule inside an :class:`ExperimentsWatcher`."""

    tracker: RunTracker
    finished: set[str] = field(default_factory=set)
    check_due: bool = False
    next_check: float = -math.inf
    not_before: float = -math.inf
    last_error: str | None = None


class ExperimentsWatcher:
    """Keeps the cache of every run under an experiments folder current (no figures).

    Args:
        experiments_dir: the folder holding ``<variant>/<run>/json_logs/``.
        debounce_seconds: two updates of one run are at least this far apart, so a burst
            of files is read together; a file that is ready is in the cache within
            ``debounce_seconds`` plus its read time (plus ``poll_seconds`` when only a
            periodic check can tell it is ready).
        poll: use watchdog's ``PollingObserver`` instead of the OS's file events.
        poll_seconds: seconds between size/mtime checks of every run (and between polls).
        jobs: worker processes per update (default 1: a server leaves cores to others;
            None: every core).
        on_update: called as ``on_update(run, update)`` from the watcher's thread after
            each run's catch-up and after every update that read or removed files.
        on_error: called with a one-line message (``<run>: <problem>``), once per
            distinct problem of a run, from the watcher's thread.

    Example::

        watcher = ExperimentsWatcher(Path("experiments"), on_update=lambda r, u: print(r, u))
        watcher.start()
        ...
        watcher.stop()
    """

    def __init__(
        self,
        experiments_dir: Path,
        *,
        debounce_seconds: float = 2.0,
        poll: bool = False,
        poll_seconds: float = 2.0,
        jobs: int | None = 1,
        on_update: UpdateCallback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> None:
        self.experiments_dir = Path(experiments_dir)
        self.debounce_seconds = debounce_seconds
        self.poll = poll
        self.poll_seconds = poll_seconds
        self.jobs = jobs
        self.on_update = on_update
        self.on_error = on_error
        #: Set once every run found at the start has been caught up.
        self.caught_up = threading.Event()
        self._handler = LogEventHandler()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._states: dict[Path, _RunState] = {}
        self._thread: threading.Thread | None = None
        self._observer: object | None = None

    # -- the public surface -------------------------------------------------

    def start(self) -> None:
        """Start observing and the background thread (which catches every run up first).

        Raises:
            RunNotFoundError: ``experiments_dir`` is not an existing folder.
            RuntimeError: already started.
        """
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        if self._thread is not None:
            raise RuntimeError("ExperimentsWatcher.start() called twice")
        if not self.experiments_dir.is_dir():
            raise RunNotFoundError(
                f"{self.experiments_dir}: no such experiments folder; pass the folder "
                "holding <variant>/<run>/json_logs/"
            )
        self.experiments_dir = self.experiments_dir.resolve()
        observer = PollingObserver(timeout=self.poll_seconds) if self.poll else Observer()
        observer.schedule(self._handler, str(self.experiments_dir), recursive=True)
        # Observe before catching up, so that nothing written meanwhile is missed.
        observer.start()
        self._observer = observer
        self._thread = threading.Thread(
            target=self._loop, name="pokeviz-experiments-watcher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the thread and the observer (after the update in hand, at most
        one batch of files). Safe to call twice, or without :meth:`start`."""
        self._stop.set()
        self._handler.wake.set()
        if self._thread is not None:
            self._thread.join()
        observer = self._observer
        if observer is not None:
            observer.stop()  # type: ignore[attr-defined]
            observer.join()  # type: ignore[attr-defined]
            self._observer = None

    def runs(self) -> list[Run]:
        """The runs watched now, in path order."""
        with self._lock:
            return [state.tracker.run for _, state in sorted(self._states.items())]

    def __enter__(self) -> ExperimentsWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the loop -----------------------------------------------------------

    def _loop(self) -> None:
        self._rescan()
        self.caught_up.set()
        next_rescan = time.monotonic() + self.poll_seconds
        while not self._stop.is_set():
            self._handler.wake.wait(min(self._seconds_until_due(), _MAX_WAIT_SECONDS))
            self._handler.wake.clear()
            if self._stop.is_set():
                break
            now = time.monotonic()
            if self._handler.folders_changed.is_set() or now >= next_rescan:
                self._handler.folders_changed.clear()
                next_rescan = now + self.poll_seconds
                self._rescan()
            self._take_events()
            for state in self._snapshot():
                if self._stop.is_set():
                    break
                self._step(state, time.monotonic())

    def _snapshot(self) -> list[_RunState]:
        with self._lock:
            return list(self._states.values())

    def _seconds_until_due(self) -> float:
        now = time.monotonic()
        due = math.inf
        for state in self._snapshot():
            if state.finished or state.check_due:
                due = min(due, max(state.not_before, now))
            else:
                due = min(due, state.next_check)
        return max(0.0, due - now)

    def _rescan(self) -> None:
        """Pick up new runs (catching each up) and drop the runs that are gone."""
        found = {
            run.path: run
            for variant in variants(self.experiments_dir)
            for run in runs_of_variant(variant)
        }
        with self._lock:
            gone = [path for path in self._states if path not in found]
            for path in gone:
                del self._states[path]
        for path in sorted(found.keys() - self._states.keys()):
            if self._stop.is_set():
                return
            state = _RunState(RunTracker(found[path], jobs=self.jobs))
            with self._lock:
                self._states[path] = state
            self._catch_up(state)

    def _catch_up(self, state: _RunState) -> None:
        try:
            for update in state.tracker.catch_up_in_batches(_CATCH_UP_BATCH):
                self._notify(state, update)
                if self._stop.is_set():
                    return
        except Exception as exc:  # reported; the periodic checks retry
            self._report(state, exc)
        state.next_check = time.monotonic() + self.poll_seconds

    def _take_events(self) -> None:
        by_folder = self._handler.take_by_folder()
        if not by_folder:
            return
        with self._lock:
            for state in self._states.values():
                changes = by_folder.get(str(state.tracker.run.logs_dir))
                if changes is not None and changes.finished:
                    state.finished |= changes.finished

    def _step(self, state: _RunState, now: float) -> None:
        if now >= state.next_check:
            state.check_due = True
            state.next_check = now + self.poll_seconds
        if not (state.finished or state.check_due) or now < state.not_before:
            return
        finished, check = set(state.finished), state.check_due
        state.finished.clear()
        state.check_due = False
        try:
            update = state.tracker.step(finished, check)
            state.last_error = None
        except Exception as exc:  # reported once; watching goes on
            self._report(state, exc)
            return
        if update is not None:
            state.not_before = now + self.debounce_seconds
            if update.ingested or update.removed:
                self._notify(state, update)

    def _notify(self, state: _RunState, update: CacheUpdate) -> None:
        if self.on_update is None:
            return
        try:
            self.on_update(state.tracker.run, update)
        except Exception as exc:  # a failing callback must not stop the watching
            self._report(state, exc)

    def _report(self, state: _RunState, exc: BaseException) -> None:
        message = f"{state.tracker.run.path}: {describe(exc)}"
        if message != state.last_error and self.on_error is not None and not self._stop.is_set():
            self.on_error(message)
        state.last_error = message
