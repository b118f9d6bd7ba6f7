"""The readiness policy of ``pokeviz watch``: which changed log files to read now, which to drop.

Pure functions of what was seen (file versions, event names, listings); no file system,
no clock. The same words are in the user docs:

* Events are hints; the truth is each file's version, ``(size_bytes, mtime_ns)``,
  compared with the cache's: a *changed* file is one the cache calls stale
  (:func:`pokeviz.cache.stale_files`, the one staleness rule).
* A changed file is *ready*, and read, when a close-after-write, rename or delete event
  named it (native observer only), or its version was the same at two periodic checks,
  or it looks complete (it ends like a finished ``json.dump``). Created/modified events
  alone never make a file ready, so a file that training is still writing is not read
  over and over.
* A file read while incomplete is cached ``partial`` and is read again once it changes
  and is ready again; it is never cached ``ok``.
* A file whose log did not change but whose cached summary is gone is read again only
  when two successive periodic checks see it so (the cache may be being deleted).
* A cached file is *removed* only when two successive listings of ``json_logs/`` both
  lack it. A listing that fails is "unknown", never "every file removed", and the next
  successful listing starts the count again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

#: A log file's version: ``(size_bytes, mtime_ns)``, as the cache records it.
Version = tuple[int, int]


@dataclass(frozen=True)
class Readiness:
    """The outcome of :func:`ready_files`.

    ``ready``: changed files to read now. ``seen_at_check``: the versions of the changed
    files that are not ready, to compare at the next periodic check.
    """

    ready: frozenset[str] = frozenset()
    seen_at_check: Mapping[str, Version] = field(default_factory=dict)


def ready_files(
    changed: Mapping[str, Version],
    *,
    finished: Collection[str],
    check: bool,
    seen_at_check: Mapping[str, Version],
    looks_complete: Callable[[str], bool],
) -> Readiness:
    """Which changed files are ready to be read (see the module docstring).

    Args:
        changed: name → current version of every changed file.
        finished: names a close-after-write, rename or delete event named since the
            last call.
        check: whether this is a periodic check (only then is "the same version at two
            checks" decided, and ``seen_at_check`` replaced).
        seen_at_check: what the previous periodic check returned.
        looks_complete: tells whether a file ends like a finished ``json.dump``; asked
            only about changed files that no other rule made ready.

    Returns:
        The ready names, and the versions to remember until the next check (the old
        ones when ``check`` is False).

    Deterministic; costs one ``looks_complete`` call per changed, not-yet-ready file.
    """
    ready = {
        name
        for name, version in changed.items()
        if name in finished
        or (check and seen_at_check.get(name) == version)
        or looks_complete(name)
    }
    if check:
        seen_at_check = {n: v for n, v in changed.items() if n not in ready}
    return Readiness(frozenset(ready), dict(seen_at_check))


def confirmed_removals(
    cached: Collection[str],
    listing: Collection[str],
    previous_listing: Collection[str] | None,
) -> frozenset[str]:
    """Cached files that this listing and the previous one both lack.

    Args:
        cached: the names the cache holds.
        listing: the names of this (successful) listing.
        previous_listing: the names of the previous successful listing, or None when
            there was none since the watcher started or since a listing failed.

    Returns:
        The names that may be dropped from the cache now. A file missing from one
        listing only waits for the next: a file system that briefly shows an empty or
        short folder (a network file system, permissions changed for a moment) never
        empties the cache.
    """
    if previous_listing is None:
        return frozenset()
    missing = set(cached) - set(listing)
    return frozenset(missing - set(previous_listing))


def confirmed_losses(
    lost: Collection[str], lost_at_previous_check: Collection[str] | None
) -> frozenset[str]:
    """Files whose cache was lost (the log file unchanged, its cached summary gone) at this
    periodic check and at the previous one: read them again now.

    Args:
        lost: the files that lost their cache, seen now.
        lost_at_previous_check: those seen at the previous periodic check, or None when
            this is not a periodic check (then nothing is confirmed).

    Returns:
        The names to read again. A cache being deleted (``rm -rf RUN`` half way) is not
        rebuilt by the first look; by the next check the run is gone or the loss is real.
    """
    if lost_at_previous_check is None:
        return frozenset()
    return frozenset(set(lost) & set(lost_at_previous_check))
