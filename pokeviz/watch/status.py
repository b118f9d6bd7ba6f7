"""What ``pokeviz watch`` prints: the status line from the cache's running totals, errors once."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from ..cache import CacheUpdate
from ..errors import PokevizError
from ..manifest import CacheTotals

StatusCallback = Callable[[str], Any]


def clock_text(seconds: float) -> str:
    """``HH:MM:SS`` of a wall-clock time, in local time."""
    return time.strftime("%H:%M:%S", time.localtime(seconds))


def status_line(totals: CacheTotals, update: CacheUpdate, clock: str) -> str:
    """One line: time, files by status, entries, global step range, this update, problems
    (the first two names). ``totals`` come from :func:`pokeviz.manifest.cache_totals`
    (the manifest alone: no DuckDB, no sidecar read).

    Example: ``12:00:01  files 4 (4 ok)  entries 240  steps 1 … 240  read 1, removed 0
    problems 0``. Deterministic: a function of its arguments.
    """
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
        f"{clock}  files {totals.files}"
        + (f" ({statuses})" if statuses else "")
        + f"  entries {totals.entries:,}  steps {steps}"
        + f"  read {len(update.ingested)}, removed {update.removed}"
        + f"  problems {len(problems)}"
        + (f": {shown}" if shown else "")
    )


def read_lines(update: CacheUpdate, records: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The ``-v`` lines of an update: every file read (status, entries, bytes), every problem."""
    out = []
    for name in update.ingested:
        entry = records.get(name, {})
        out.append(
            f"  read {name}: {entry.get('status')}, {entry.get('entries', 0):,} entries, "
            f"{entry.get('size_bytes', 0):,} bytes"
        )
    for name, status, message in update.problems:
        out.append(f"  problem {name}: {status}: {message}")
    return out


class ErrorReporter:
    """Reports a failure once per distinct message, until a success clears it.

    Args:
        on_status: receives each line.
        clock: gives the ``HH:MM:SS`` text of a line.
        verbose: also report the traceback.
        stop_event: once set, failures (work interrupted by the stop) are not reported.
    """

    def __init__(
        self,
        on_status: StatusCallback,
        clock: Callable[[], str],
        *,
        verbose: bool = False,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.on_status = on_status
        self.clock = clock
        self.verbose = verbose
        self.stop_event = stop_event
        self._last: str | None = None

    def report(self, exc: BaseException, what: str = "problem") -> None:
        """Say ``<time>  <what>: <message>; still watching`` unless it was just said.

        Call from inside the ``except`` block (the traceback of ``-v`` is the current one).
        """
        if self.stop_event is not None and self.stop_event.is_set():
            return  # interrupted by the stop, not a failure
        message = describe(exc)
        if message != self._last:
            self.on_status(f"{self.clock()}  {what}: {message}; still watching")
            if self.verbose:
                self.on_status(traceback.format_exc().rstrip())
        self._last = message

    def clear(self) -> None:
        """Forget the last failure: the same failure again is reported again."""
        self._last = None


def describe(exc: BaseException) -> str:
    """A one-line message: a :class:`PokevizError`'s own, else ``Type: message``."""
    return str(exc) if isinstance(exc, PokevizError) else f"{type(exc).__name__}: {exc}"
