"""Locks on a run's cache: one writer at a time, and readers that never see a half state.

Two ``fcntl.flock`` locks on files in ``.cache/``:

* ``write.lock``, held exclusively for a whole update: a second writer (another
  ``pokeviz ingest``, ``watch``, ``serve``) waits, with a message, then finds the work
  done;
* ``state.lock``, held shared by a reader while it reads the manifest and the Parquet
  files it names, and exclusively by a writer only while it deletes files the new
  manifest no longer names. So a reader never loses a file it is about to read, and
  waits at most for a few deletions, never for a whole ingest.

flock locks are released by the kernel when a process dies, so a killed writer never
leaves a run locked. A cache folder a reader cannot write (a shared read-only run)
cannot have been written to meanwhile by this user, so reading it unlocked is safe.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

WRITE_LOCK = "write.lock"
STATE_LOCK = "state.lock"


def _open(path: Path, create: bool) -> int | None:
    flags = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
    try:
        return os.open(path, flags | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if create or exc.errno not in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        return None


@contextlib.contextmanager
def _flock(
    path: Path, mode: int, *, create: bool, waiting: Callable[[], None] | None = None
) -> Iterator[None]:
    fd = _open(path, create)
    if fd is None:
        yield
        return
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _say_waiting(cache_dir: Path) -> Callable[[], None]:
    def say() -> None:
        print(
            f"note: {cache_dir}: another pokeviz process is updating this cache; waiting for it",
            file=sys.stderr,
            flush=True,
        )

    return say


def writer(
    cache_dir: Path, waiting: Callable[[], None] | None = None
) -> contextlib.AbstractContextManager[None]:
    """Hold the run's writer lock (exclusive; waits for another writer, saying so).

    Args:
        cache_dir: the ``.cache`` folder (must exist and be writable).
        waiting: called once if another process holds the lock (default: a note on
            stderr).

    Raises:
        OSError: the lock file cannot be created.
    """
    return _flock(
        cache_dir / WRITE_LOCK, fcntl.LOCK_EX, create=True,
        waiting=waiting or _say_waiting(cache_dir),
    )


def deleting(cache_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the state lock exclusively while files a reader may want are deleted."""
    return _flock(cache_dir / STATE_LOCK, fcntl.LOCK_EX, create=True)


def reading(cache_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Hold the state lock shared while a reader reads the manifest and its files.

    Without a lock file (a cache never written by a locking writer, or a folder this
    user cannot write) the read goes on unlocked.
    """
    return _flock(cache_dir / STATE_LOCK, fcntl.LOCK_SH, create=False)
