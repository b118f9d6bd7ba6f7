"""Redraws of ``pokeviz watch`` off the reading thread: inline, in a thread, or in a worker process.

The watch loop starts a redraw and goes on reading log files; the redraw wakes the loop
when it ends. The default renderer runs in one long-lived worker process (spawned, so
matplotlib and DuckDB never share the watcher's threads, and a stop can kill it at once
without leaving a half-written figure: figures are written atomically). A renderer that
cannot be sent to a process (a closure) runs in a thread.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from ..cache import CacheUpdate
from ..discover import Run

Renderer = Callable[[Run], Any]
#: Where a redraw runs: inside the loop's call (tests), a thread, or a worker process.
RedrawMode = Literal["inline", "thread", "process"]


@dataclass(frozen=True)
class Drawn:
    """What the loop reports of a finished redraw (small, so a worker process can send it).

    ``figures``: files written, when the renderer's result tells. ``update``: what the
    renderer's own cache update read, when it did one.
    """

    figures: int | None = None
    update: CacheUpdate | None = None


def drawn_of(result: Any) -> Drawn:
    """The :class:`Drawn` of a renderer's result (``plot_run``'s ``PlotResult`` or any
    object with ``paths``/``files``/``figures``/``written`` and ``report.update``)."""
    figures = None
    for name in ("paths", "files", "figures", "written"):
        value = getattr(result, name, None)
        if isinstance(value, (list, tuple, dict, set)):
            figures = len(value)
            break
    update = getattr(getattr(result, "report", None), "update", None)
    return Drawn(figures, update if isinstance(update, CacheUpdate) else None)


def _draw(render: Renderer, run: Run) -> Drawn:
    """Worker-process job: draw, and send back only what the loop reports."""
    return drawn_of(render(run))


class Redraw:
    """One redraw in progress.

    Attributes:
        drawn: what it drew, once it ended successfully.
        error: the renderer's exception, once it ended with one.
        seconds: how long it took, once it ended.
    """

    def __init__(self) -> None:
        self.started_at = time.perf_counter()
        self.seconds = 0.0
        self.drawn: Drawn | None = None
        self.error: BaseException | None = None
        self._ended = threading.Event()

    def done(self) -> bool:
        """Whether it has ended (successfully or not)."""
        return self._ended.is_set()

    def wait(self) -> None:
        """Block until it has ended."""
        self._ended.wait()

    def _end(self, drawn: Drawn | None, error: BaseException | None) -> None:
        self.drawn, self.error = drawn, error
        self.seconds = time.perf_counter() - self.started_at
        self._ended.set()


class Redrawer:
    """Starts redraws of one run's figures where ``mode`` says.

    Args:
        render: draws the run's figures. With ``mode="process"`` it must be picklable
            (a module-level function or a ``functools.partial`` of one).
        mode: ``inline`` (inside :meth:`start`), ``thread`` or ``process``.
        wake: set when a redraw ends, so the watch loop looks at it at once.
    """

    def __init__(self, render: Renderer, mode: RedrawMode, wake: threading.Event) -> None:
        self.render = render
        self.mode = mode
        self.wake = wake
        self._pool: ProcessPoolExecutor | None = None
        self._threads: list[threading.Thread] = []

    def start(self, run: Run) -> Redraw:
        """Start one redraw of ``run``; it reports to the returned :class:`Redraw`."""
        redraw = Redraw()
        if self.mode == "process":
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")
                )
            future = self._pool.submit(_draw, self.render, run)
            future.add_done_callback(lambda f: self._ended(redraw, f))
        elif self.mode == "thread":
            thread = threading.Thread(
                target=self._run, args=(redraw, run), name="pokeviz-watch-redraw", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
        else:
            self._run(redraw, run)
        return redraw

    def close(self, *, wait: bool = True) -> None:
        """Wait for running redraws (``wait``), or abandon them; stop the worker process.

        Threads are always waited for: one still in native code (DuckDB, matplotlib) when
        the interpreter exits can abort the process. An abandoned process redraw is
        cancelled (the signal handler that asked for the stop kills the worker).
        """
        for thread in self._threads:
            thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def _run(self, redraw: Redraw, run: Run) -> None:
        try:
            drawn = drawn_of(self.render(run))
        except Exception as exc:  # reported by the loop
            redraw._end(None, exc)
        else:
            redraw._end(drawn, None)
        self.wake.set()

    def _ended(self, redraw: Redraw, future: Future[Drawn]) -> None:
        if future.cancelled():
            redraw._end(None, RuntimeError("redraw cancelled"))
        elif future.exception() is not None:
            redraw._end(None, future.exception())
        else:
            redraw._end(future.result(), None)
        self.wake.set()
