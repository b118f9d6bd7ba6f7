"""What keeps the dashboard live: the experiments watcher and a change counter pages follow.

With watching on, :class:`pokeviz.watch.ExperimentsWatcher` (the same code as ``pokeviz
watch``) brings every run's cache up to date as log files appear or grow. Whoever
changed a cache (that watcher, or a ``pokeviz ingest`` in another shell), a small
thread notices it within :data:`CHECK_SECONDS`: it compares every run's cache state
(:func:`pokeviz.serve.catalog.cache_state`) and the list of runs with the last ones, and
bumps :attr:`Live.generation`. Open pages follow the counter through Server-Sent Events
and fetch again what changed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .catalog import Catalog, cache_state

#: Seconds between two looks at the runs' cache states.
CHECK_SECONDS = 0.5


class Live:
    """The change counter, and the watcher when watching is on.

    Args:
        catalog: the served runs.
        watch: start the experiments watcher (``--no-watch``: False; the caches are
            served as they are, changes made by other processes still show).
        debounce_seconds: passed to the watcher.
        poll: the watcher polls instead of using OS file events.
        on_error: called with a one-line message when the watcher reports a problem.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        watch: bool = True,
        debounce_seconds: float = 2.0,
        poll: bool = False,
        jobs: int | None = 1,
        on_error: Callable[[str], Any] | None = None,
    ) -> None:
        self.catalog = catalog
        #: The experiments watcher's settings; None with watching off.
        self.watcher_options: dict[str, Any] | None = (
            {"debounce_seconds": debounce_seconds, "poll": poll, "jobs": jobs} if watch else None
        )
        self.on_error = on_error or (lambda message: None)
        self.generation = 0
        self.changed_at = time.time()
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._watcher: Any = None
        self._fingerprint: tuple[Any, ...] | None = None

    def fingerprint(self) -> tuple[Any, ...]:
        """Every run and its cache state, in listing order."""
        return tuple((str(r.path), cache_state(r)) for r in self.catalog.runs())

    def check(self) -> bool:
        """Bump :attr:`generation` when a run or a cache state changed; True if it did."""
        current = self.fingerprint()
        if current == self._fingerprint:
            return False
        first = self._fingerprint is None
        self._fingerprint = current
        if not first:
            self.generation += 1
            self.changed_at = time.time()
        return not first

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.check()
            except Exception as exc:  # a listing hiccup must not end live updates
                self.on_error(f"{self.catalog.root}: cannot list the runs ({exc})")
            self._wake.wait(CHECK_SECONDS)
            self._wake.clear()

    def _updated(self, *args: Any, **kwargs: Any) -> None:
        self._wake.set()

    def _failed(self, *args: Any, **kwargs: Any) -> None:
        self.on_error(" ".join(str(a) for a in args) or "watcher problem")

    def start(self) -> None:
        """Start the change thread and, with watching on, the experiments watcher."""
        self.check()
        if self.watcher_options is not None:
            from ..watch import ExperimentsWatcher

            self._watcher = ExperimentsWatcher(
                self.catalog.root, **self.watcher_options, on_update=self._updated,
                on_error=self._failed,
            )
            self._watcher.start()
        self._thread = threading.Thread(target=self._loop, name="pokeviz-serve-live",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the watcher and the change thread, and wait for both."""
        self.stopping.set()
        self._wake.set()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
