"""The runs a server may show: safe name lookup, open views and answers cached per cache state.

Every request names a run by two folder names, ``variant`` and ``run``. :meth:`Catalog.run`
turns them into a :class:`pokeviz.discover.Run` only when they name a run that
:mod:`pokeviz.discover` lists under the experiments folder and whose real path (symlinks
followed) is inside it; anything else (``..``, an absolute path, a symlink out of the
folder, a name that is not a run) is :class:`NotFound`, which the app answers with 404.

A run's *cache state* is the ``(mtime_ns, size, inode)`` of its ``manifest.json``: every
cache update replaces the manifest atomically, so the state changes exactly when the
cached data does. Answers (figure JSON, summaries) are kept per state and recomputed
only after it changes; a few open :class:`pokeviz.api.RunView` are kept (least recently
used), each behind a lock because a DuckDB connection serves one thread at a time.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..api import RunView, open_run
from ..cache import MANIFEST
from ..discover import Run, is_run, runs_of_variant, variants

T = TypeVar("T")

#: Open run views kept at once (each holds its run's small sidecars in memory).
MAX_OPEN_VIEWS = 6
#: Cached answers kept at once (figure JSON of any run and parameters).
MAX_ANSWERS = 256

CacheState = tuple[int, int, int] | None


class NotFound(LookupError):
    """A variant/run pair that does not name a run inside the experiments folder."""


def _is_plain_name(name: str) -> bool:
    """A single folder name: not empty, not ``.``/``..``, no separator or NUL."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00")


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with every symlink followed, is ``root`` or inside it."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(root)
    except (OSError, ValueError):
        return False


def cache_state(run: Run) -> CacheState:
    """The run's cache state: ``(mtime_ns, size, inode)`` of its manifest, None if absent."""
    try:
        st = os.stat(run.cache_dir / MANIFEST)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass
class _OpenView:
    view: RunView
    state: CacheState
    lock: threading.Lock


class Catalog:
    """The runs under one experiments folder, with per-state caches of what was computed.

    Thread-safe: the app calls it from its worker threads.

    Args:
        experiments_dir: the folder holding ``<variant>/<run>/json_logs/``.
        open_view: how a run is opened (default ``open_run(run, update=False)``: the
            server reads the cache as it is; the watcher alone brings it up to date).
    """

    def __init__(
        self,
        experiments_dir: str | Path,
        *,
        open_view: Callable[[Run], RunView] | None = None,
    ) -> None:
        self.root = Path(os.path.realpath(experiments_dir))
        self._open = open_view or (lambda run: open_run(run, update=False))
        self._lock = threading.Lock()
        self._views: OrderedDict[tuple[str, str], _OpenView] = OrderedDict()
        self._answers: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()

    # -- finding runs -----------------------------------------------------------------

    def runs(self) -> list[Run]:
        """Every run under the folder, variant by variant (name order), oldest run first.

        Runs (or variants) whose real path leaves the folder are not listed.
        """
        found = []
        for variant_dir in variants(self.root):
            if not inside(variant_dir, self.root):
                continue
            for run in runs_of_variant(variant_dir):
                if inside(run.path, self.root) and inside(run.logs_dir, self.root):
                    found.append(Run(self.root / variant_dir.name / run.path.name))
        return found

    def run(self, variant: str, name: str) -> Run:
        """The run ``<experiments>/<variant>/<name>``.

        Raises:
            NotFound: the names are not plain folder names, do not name a run of the
                folder, or lead (through a symlink) outside it.
        """
        if not (_is_plain_name(variant) and _is_plain_name(name)):
            raise NotFound(f"no run {variant!r}/{name!r} here")
        path = self.root / variant / name
        # The same rules as discover.variants/runs_of_variant, plus: nothing may lead out.
        if not (
            inside(path.parent, self.root)
            and inside(path, self.root)
            and inside(path / "json_logs", self.root)
            and not is_run(path.parent)
            and is_run(path)
        ):
            raise NotFound(f"no run {variant}/{name} here")
        return Run(path)

    # -- cached answers ---------------------------------------------------------------

    def answer(self, run: Run, key: tuple[Any, ...], compute: Callable[[RunView], T]) -> T:
        """``compute(view)`` for the run's current cache state, computed once per state.

        Args:
            run: from :meth:`run`.
            key: what is computed (endpoint and parameters); with the run and its cache
                state it names the cached answer.
            compute: reads the run's views and returns a JSON-able value.

        Raises:
            CacheError: the run has no usable cache yet.
        """
        state = cache_state(run)
        full = (str(run.path), *key)
        with self._lock:
            hit = self._answers.get(full)
            if hit is not None and hit[0] == state:
                self._answers.move_to_end(full)
                return hit[1]
        with self.view(run) as view:
            value = compute(view)
        with self._lock:
            self._answers[full] = (state, value)
            self._answers.move_to_end(full)
            while len(self._answers) > MAX_ANSWERS:
                self._answers.popitem(last=False)
        return value

    def cached(self, key: tuple[Any, ...], state: Any, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``state`` of ``key`` (answers spanning several runs)."""
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None and hit[0] == state:
                return hit[1]
        value = compute()
        with self._lock:
            self._answers[key] = (state, value)
            while len(self._answers) > MAX_ANSWERS:
                self._answers.popitem(last=False)
        return value

    @contextmanager
    def view(self, run: Run) -> Iterator[RunView]:
        """The run's open view for its current cache state, held for this thread.

        A view of an older state is closed and the run opened again.

        Raises:
            CacheError: the run has no usable cache yet.
        """
        key = (run.variant, run.timestamp)
        state = cache_state(run)
        while True:
            with self._lock:
                entry = self._views.get(key)
                if entry is not None:
                    self._views.move_to_end(key)
            if entry is None or entry.state != state:
                fresh = _OpenView(self._open(run), state, threading.Lock())
                with self._lock:
                    old = self._views.get(key)
                    self._views[key] = fresh
                    self._views.move_to_end(key)
                    evicted = [old] if old is not None else []
                    while len(self._views) > MAX_OPEN_VIEWS:
                        evicted.append(self._views.popitem(last=False)[1])
                for stale in evicted:
                    with stale.lock:
                        stale.view.close()
                entry = fresh
            with entry.lock:
                with self._lock:
                    current = self._views.get(key) is entry
                if not current:
                    continue  # closed and replaced while this thread waited
                yield entry.view
                return

    def close(self) -> None:
        """Close every open view."""
        with self._lock:
            entries = list(self._views.values())
            self._views.clear()
            self._answers.clear()
        for entry in entries:
            with entry.lock:
                entry.view.close()
