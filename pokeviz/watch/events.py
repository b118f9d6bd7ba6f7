"""The watchdog handler of ``pokeviz watch``: records which log files changed, does no work."""

from __future__ import annotations

import fnmatch
import os
import threading
from dataclasses import dataclass

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MOVED,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)

from ..discover import LOG_GLOB


@dataclass(frozen=True)
class Changes:
    """Log file names named by events since the last :meth:`LogEventHandler.take`.

    ``finished``: closed after writing, renamed from or to, or deleted: worth a look now.
    ``written``: created, modified or attribute-changed: probably still being written.
    """

    finished: frozenset[str] = frozenset()
    written: frozenset[str] = frozenset()


def is_log_name(name: str) -> bool:
    """True for a file name that :func:`pokeviz.discover.list_log_files` would list."""
    return fnmatch.fnmatchcase(name, LOG_GLOB)


class LogEventHandler(FileSystemEventHandler):
    """Watchdog handler that records which ``stats_*.json`` names changed, per folder.

    Thread-safe: the observer thread calls :meth:`dispatch`, the watch loop calls
    :meth:`take` (one run's folder) or :meth:`take_by_folder` (a whole experiments tree).
    Names that are not log files and the opened / closed-no-write events that reading a
    file produces are ignored. Events that mean "this file is done" (closed after write,
    moved, deleted) set :attr:`wake` so the loop does not wait for its next periodic
    check; created/modified events do not, because a file being written produces one
    per write. A folder created, moved or deleted sets :attr:`folders_changed` and
    :attr:`wake` (a new run or variant may have appeared, or one may be gone).
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._finished: dict[str, set[str]] = {}
        self._written: dict[str, set[str]] = {}
        #: Set when a "finished" or folder event arrives; the loop clears it before a tick.
        self.wake = threading.Event()
        #: Set when a folder was created, moved or deleted; the loop clears it.
        self.folders_changed = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        """Record the log file names of one event (see the class docstring)."""
        kind = event.event_type
        if kind in (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE):
            return
        if event.is_directory:
            if kind in (EVENT_TYPE_CREATED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED):
                self.folders_changed.set()
                self.wake.set()
            return
        paths = [event.src_path]
        if kind == EVENT_TYPE_MOVED:
            paths.append(event.dest_path)
        found = [os.path.split(os.fsdecode(p)) for p in paths if p]
        found = [(folder, name) for folder, name in found if is_log_name(name)]
        if not found:
            return
        finished = kind in (EVENT_TYPE_CLOSED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED)
        record = self._finished if finished else self._written
        with self._lock:
            for folder, name in found:
                record.setdefault(folder, set()).add(name)
        if finished:
            self.wake.set()

    def take(self) -> Changes:
        """Return and forget the names recorded so far, in every folder."""
        merged_finished: set[str] = set()
        merged_written: set[str] = set()
        for changes in self.take_by_folder().values():
            merged_finished |= changes.finished
            merged_written |= changes.written
        return Changes(frozenset(merged_finished), frozenset(merged_written))

    def take_by_folder(self) -> dict[str, Changes]:
        """Return and forget the names recorded so far, keyed by their folder's path."""
        with self._lock:
            finished, written = self._finished, self._written
            self._finished, self._written = {}, {}
        return {
            folder: Changes(
                frozenset(finished.get(folder, ())), frozenset(written.get(folder, ()))
            )
            for folder in finished.keys() | written.keys()
        }
