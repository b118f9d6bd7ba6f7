"""The schedule of ``pokeviz watch``: when to check, read and redraw one run, and what to say.

:class:`RunWatcher` is driven one :meth:`RunWatcher.tick` at a time with a clock passed
in, so tests use made-up events and times without sleeping. Reading follows the policy
of :mod:`pokeviz.watch.policy` through a :class:`~pokeviz.watch.tracker.RunTracker`;
the figures are drawn off the reading thread (:mod:`pokeviz.watch.redraw`: a worker
process or a thread), so log files go on being read while a redraw runs.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..cache import CacheUpdate
from ..discover import Run, is_run
from ..errors import CacheError
from ..manifest import CacheTotals, cache_totals
from .events import LogEventHandler
from .redraw import Redraw, Redrawer, RedrawMode, Renderer
from .status import ErrorReporter, StatusCallback, clock_text, read_lines, status_line
from .tracker import RunTracker

#: Default seconds between two redraws of the figures (``--debounce-seconds``).
DEBOUNCE_SECONDS = 10.0
#: Default seconds between two size/mtime checks, and between polls with ``--poll``.
POLL_SECONDS = 2.0


@dataclass
class Tick:
    """What one :meth:`RunWatcher.tick` did.

    ``rendered``: a redraw finished successfully during this tick (with a background
    redraw, the tick that noticed it had finished).
    """

    update: CacheUpdate | None = None
    rendered: bool = False
    read: list[str] = field(default_factory=list)


class RunWatcher:
    """The schedule of one watched run: what to read, when to redraw, what to report.

    Drive it with :meth:`catch_up` once, then :meth:`tick` whenever the handler woke
    the loop or :meth:`seconds_until_due` has passed; :meth:`close` at the end. ``now``
    is any monotonic clock in seconds; nothing here sleeps or reads that clock itself.

    Args:
        run: the run (its ``json_logs/`` folder must exist).
        render: draws the run's figures; called with the run, at most once per
            ``debounce_seconds`` after changes (and once after :meth:`catch_up`). It
            must write atomically; its exceptions are reported, not raised.
        debounce_seconds: a change is drawn ``debounce_seconds`` after the first change
            the figures do not show yet, so redraws are at least that far apart and a
            burst of files gives one redraw.
        poll_seconds: seconds between two size/mtime checks of every log file.
        jobs: worker processes for reading several files at once (default: cores).
        on_status: receives each status line (always from the thread calling ``tick``).
        verbose: also report every file read, and tracebacks.
        wall_clock: gives the time printed in status lines (``time.time``).
        stop_event: once set, failures (work interrupted by the stop) are not reported.
        redraw_in: where redraws run while reading goes on: ``thread`` (default),
            ``process`` (a worker process; ``render`` must be picklable) or ``inline``
            (inside :meth:`tick`: deterministic tests).
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
        redraw_in: RedrawMode = "thread",
    ) -> None:
        self.run = run
        self.render = render
        self.debounce_seconds = debounce_seconds
        self.poll_seconds = poll_seconds
        self.on_status = on_status
        self.verbose = verbose
        self.wall_clock = wall_clock
        self.stop_event = stop_event
        self.handler = LogEventHandler()
        self.tracker = RunTracker(run, jobs=jobs)
        self.errors = ErrorReporter(
            on_status, self._clock, verbose=verbose, stop_event=stop_event
        )
        self._next_check = -math.inf
        self._render_due: float | None = None
        self._redrawer = Redrawer(render, redraw_in, self.handler.wake)
        self._redraw: Redraw | None = None

    @property
    def cached(self) -> dict[str, dict[str, Any]]:
        """The manifest records, as of the last update."""
        return self.tracker.cached

    # -- the steps ---------------------------------------------------------

    def catch_up(self, now: float) -> CacheUpdate | None:
        """Read every stale file (in-progress ones too: they are cached as partial),
        report, and schedule a redraw for ``now`` when the cache holds any file.

        Returns the update, or None when it failed (reported; later checks retry).
        """
        self._next_check = now + self.poll_seconds
        try:
            update = self.tracker.catch_up()
        except Exception as exc:  # reported; the periodic checks retry
            self.errors.report(exc)
            return None
        self._report_update(update, always=True)
        self._render_due = now if self.cached else None
        return update

    def tick(self, now: float) -> Tick:
        """Take the handler's events, read the files that are ready, redraw when due.

        Checks every file's size and mtime when a "finished" event arrived or
        ``poll_seconds`` have passed since the last check. Failures (a vanished
        ``json_logs/``, an unwritable cache, a renderer error) are reported once per
        distinct message and the watcher goes on.
        """
        result = Tick()
        result.rendered = self._finish_redraw(now)
        changes = self.handler.take()
        check = now >= self._next_check
        if changes.finished or check:
            if check:
                self._next_check = now + self.poll_seconds
            try:
                result.update = self.tracker.step(changes.finished, check)
                self.errors.clear()
            except Exception as exc:  # one failure is reported; watching goes on
                self.errors.report(exc)
            if result.update is not None:
                result.read = list(result.update.ingested)
                self._after_update(result.update, now)
        if self._render_due is not None and now >= self._render_due and self._redraw is None:
            self._start_redraw()
            result.rendered = self._finish_redraw(now) or result.rendered  # inline: done
        return result

    def seconds_until_due(self, now: float) -> float:
        """Seconds until the next periodic check or redraw (0 when overdue).

        A redraw that is due while another one runs waits for it: the running one wakes
        the loop when it ends.
        """
        due = self._next_check
        if self._render_due is not None and self._redraw is None:
            due = min(due, self._render_due)
        return max(0.0, due - now)

    def close(self, *, wait: bool = True) -> None:
        """Wait for a running redraw to end (``wait``), or abandon it (see
        :meth:`pokeviz.watch.redraw.Redrawer.close`); figures are written atomically, so
        an abandoned redraw leaves no broken file."""
        self._redrawer.close(wait=wait)

    def status_line(self, update: CacheUpdate) -> str:
        """One line: time, files by status, entries, global step range, this update,
        problems (see :func:`pokeviz.watch.status.status_line`)."""
        try:
            totals = cache_totals(self.run)  # running totals: the manifest alone
        except CacheError:  # no cache (yet, or any more)
            totals = CacheTotals()
        return status_line(totals, update, self._clock())

    # -- internals ---------------------------------------------------------

    def _after_update(self, update: CacheUpdate, now: float, *, by: str = "") -> None:
        """Report an update that read or removed files; schedule a redraw for it."""
        if not (update.ingested or update.removed):
            return
        if not self.cached:
            self._render_due = None
        elif not by and self._render_due is None:
            self._render_due = now + self.debounce_seconds
        self._report_update(update, by=by)

    def _report_update(self, update: CacheUpdate, *, always: bool = False, by: str = "") -> None:
        if update.ingested or update.removed or always:
            self.on_status(self.status_line(update) + by)
            if self.verbose:
                for line in read_lines(update, self.cached):
                    self.on_status(line)

    def _start_redraw(self) -> None:
        self._render_due = None
        if not self.cached or not is_run(self.run.path):
            return  # nothing to draw, or the run was deleted: never recreate its plots/
        self._redraw = self._redrawer.start(self.run)

    def _finish_redraw(self, now: float) -> bool:
        """Report a redraw that has ended; True when it succeeded."""
        redraw = self._redraw
        if redraw is None or not redraw.done():
            return False
        self._redraw = None
        if redraw.error is not None or redraw.drawn is None:
            try:
                raise redraw.error or RuntimeError("the redraw ended without a result")
            except Exception as exc:  # a failed redraw is reported; the next change retries
                self.errors.report(exc, what="figures not updated")
            return False
        # A renderer that updates the cache itself (plot_run without update=False) may
        # have read files: report them; the figures already show them.
        if redraw.drawn.update is not None:
            self.tracker.refresh()
            self._after_update(redraw.drawn.update, now, by="  (read by the renderer)")
        figures = redraw.drawn.figures
        self.on_status(
            f"{self._clock()}  figures updated"
            + (f" ({figures} files)" if figures is not None else "")
            + f" in {redraw.seconds:.1f} s"
        )
        return True

    def _clock(self) -> str:
        return clock_text(self.wall_clock())

