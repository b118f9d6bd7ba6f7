"""Live ``pokeviz watch``: keep a run's cache and figures current while training writes it.

One job per module:

* :mod:`~pokeviz.watch.events` — the watchdog handler: records which log files changed;
* :mod:`~pokeviz.watch.policy` — pure readiness policy: which changed files to read now,
  which cached files to drop (the partial-file policy is written there);
* :mod:`~pokeviz.watch.tracker` — one run's cache kept current through :mod:`pokeviz.api`;
* :mod:`~pokeviz.watch.status` — the status line, from the run's totals; errors said once;
* :mod:`~pokeviz.watch.schedule` — :class:`RunWatcher`: when to check, read and redraw;
* :mod:`~pokeviz.watch.runner` — :func:`watch_run`: wait for the run, observe, signals;
* :mod:`~pokeviz.watch.experiments` — :class:`ExperimentsWatcher`: every run of an
  experiments folder, for ``pokeviz serve``.
"""

from __future__ import annotations

from .events import Changes, LogEventHandler, is_log_name
from .experiments import ExperimentsWatcher
from .policy import Readiness, confirmed_losses, confirmed_removals, ready_files
from .runner import find_run, render_figures, wait_for_run, watch_run
from .schedule import DEBOUNCE_SECONDS, POLL_SECONDS, RunWatcher, Tick
from .status import status_line
from .tracker import RunTracker

__all__ = [
    "DEBOUNCE_SECONDS",
    "POLL_SECONDS",
    "Changes",
    "ExperimentsWatcher",
    "LogEventHandler",
    "Readiness",
    "RunTracker",
    "RunWatcher",
    "Tick",
    "confirmed_losses",
    "confirmed_removals",
    "find_run",
    "is_log_name",
    "ready_files",
    "render_figures",
    "status_line",
    "wait_for_run",
    "watch_run",
]
