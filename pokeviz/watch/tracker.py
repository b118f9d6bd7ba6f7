"""One run's cache kept current: what changed, what is ready (the policy), read through the api.

:class:`RunTracker` is the per-run reading code shared by ``pokeviz watch``
(:class:`pokeviz.watch.schedule.RunWatcher`) and the experiments-wide watcher of
``pokeviz serve`` (:class:`pokeviz.watch.experiments.ExperimentsWatcher`). It decides
nothing about time itself: the caller says which names events called finished and
whether this is a periodic check.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from ..api import update_run
from ..cache import (
    MANIFEST,
    CacheUpdate,
    cached_versions,
    file_versions,
    read_manifest,
    stale_files,
)
from ..discover import Run, is_run
from ..errors import NoLogFilesError
from ..ingest import looks_complete
from .policy import Version, confirmed_losses, confirmed_removals, ready_files


class RunTracker:
    """The reading state of one run: cached versions, versions seen at the last check,
    the last listing.

    Args:
        run: the run.
        jobs: worker processes for reading several files at once (default: cores).
        complete: tells whether a log file ends like a finished ``json.dump``
            (default :func:`pokeviz.ingest.looks_complete`).

    Not thread-safe: one thread calls :meth:`catch_up` and :meth:`step`.
    """

    def __init__(
        self,
        run: Run,
        *,
        jobs: int | None = None,
        complete: Callable[[Path], bool] = looks_complete,
    ) -> None:
        self.run = run
        self.jobs = jobs
        self.complete = complete
        #: The manifest records, as of the last update.
        self.cached: dict[str, dict[str, Any]] = {}
        self._seen_at_check: dict[str, Version] = {}
        self._previous_listing: frozenset[str] | None = None
        #: Ready files an update could not write yet (see :meth:`_may_write`).
        self._postponed: set[str] = set()
        self._had_cache = False
        self._vanished_at_check = False
        #: Versions the cache held after the last update; stale files that still have
        #: them lost their cache rather than changed.
        self._known: dict[str, Version] = {}
        self._lost_at_check: frozenset[str] = frozenset()
        self.refresh()

    # -- the steps ---------------------------------------------------------

    def catch_up(self) -> CacheUpdate:
        """Read every stale file, in-progress ones too (they are cached as partial).

        Raises:
            PokevizError: the run vanished or its cache cannot be written; anything
                ``update_run`` raises.
        """
        self._require_run()
        update = update_run(self.run, jobs=self.jobs)
        self.refresh()
        return update

    def catch_up_in_batches(self, files_per_batch: int = 8) -> Iterator[CacheUpdate]:
        """Like :meth:`catch_up`, one update per ``files_per_batch`` stale files, so that a
        caller can stop between two batches (a background thread cannot be interrupted).

        Yields:
            Each batch's update (at least one, even when nothing is stale).
        """
        stale = stale_files(self.run)
        for start in range(0, max(1, len(stale)), files_per_batch):
            self._require_run()
            yield update_run(self.run, jobs=self.jobs, only=stale[start : start + files_per_batch])
            self.refresh()

    def step(self, finished: Collection[str], check: bool) -> CacheUpdate | None:
        """Read the changed files that are ready, and drop the confirmed removals.

        Args:
            finished: names that close-after-write, rename or delete events named.
            check: whether this is a periodic check (see :func:`~.policy.ready_files`).

        Returns:
            The update, or None when nothing was ready and nothing was removed.

        Raises:
            PokevizError: ``json_logs/`` cannot be listed (nothing is removed then), or
                the cache cannot be written.
        """
        try:
            current = file_versions(self.run)
        except NoLogFilesError:
            self._previous_listing = None  # unknown: the next listing starts again
            raise
        listing = frozenset(current)
        removed = confirmed_removals(cached_versions(self.run), listing, self._previous_listing)
        self._previous_listing = listing
        stale = stale_files(self.run, current)
        # A stale file whose log did not change lost its cache (deleted, damaged): read
        # it again only when the next check agrees, since the cache may be going away.
        lost = {name for name in stale if self._known.get(name) == current[name]}
        losses = confirmed_losses(lost, self._lost_at_check if check else None)
        if check:
            self._lost_at_check = frozenset(lost)
        readiness = ready_files(
            {name: current[name] for name in stale if name not in lost},
            finished=finished,
            check=check,
            seen_at_check=self._seen_at_check,
            looks_complete=lambda name: self.complete(self.run.logs_dir / name),
        )
        self._seen_at_check = dict(readiness.seen_at_check)
        ready = readiness.ready | losses | (self._postponed & listing)
        if not ready and not removed:
            return None
        self._require_run()
        if not self._may_write(check):
            self._postponed = set(ready)
            return None
        self._postponed = set()
        # update_run lists the folder again: a file it drops is one two listings lacked.
        update = update_run(self.run, jobs=self.jobs, only=ready)
        self.refresh()
        return update

    # -- internals ---------------------------------------------------------

    def _may_write(self, check: bool) -> bool:
        """Whether an update may write the cache now.

        ``plots/`` or the manifest vanishing under a cache this tracker wrote is what
        ``rm -rf RUN`` looks like half way; writing then would recreate ``plots/`` and
        leave the deleted run behind. So the write waits for a later periodic check that
        still finds the run (someone cleared ``plots/`` on purpose): by then a deleted run
        is gone.
        """
        vanished = self._had_cache and not (self.run.cache_dir / MANIFEST).exists()
        if not vanished:
            self._vanished_at_check = False
            return True
        if check and self._vanished_at_check:
            return True
        self._vanished_at_check = self._vanished_at_check or check
        return False

    def _require_run(self) -> None:
        """Refuse to write a cache into a run that is gone (it would create ``plots/``)."""
        if not is_run(self.run.path):
            raise NoLogFilesError(
                f"{self.run.logs_dir}: no json_logs/ folder any more; was the run deleted?"
            )

    def refresh(self) -> None:
        """Read the manifest again (after someone else, e.g. a renderer, updated the cache)."""
        self.cached = read_manifest(self.run.cache_dir)[0]
        self._known = {name: (e["size_bytes"], e["mtime_ns"]) for name, e in self.cached.items()}
        self._had_cache = self._had_cache or bool(self.cached)
