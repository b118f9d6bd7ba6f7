"""Where results land: the one atomic file write, and the one output-format check.

Every file pokeviz writes (sidecars, the manifest, figures, reports, videos, synthetic
logs) goes through :func:`atomic_write`, so a reader sees the old file or the new one,
never half of one, and a failure leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError, PokevizError

#: Temporary files are ``.<name>.<pid>.<random>.tmp`` beside their destination: the pid
#: lets a later run tell a dead writer's leftovers from a live writer's file.
TEMP_SUFFIX = ".tmp"


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` that names this process."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def temp_owner(path: Path) -> int | None:
    """The pid in a temporary name made by :func:`temp_path`, or None for other names."""
    parts = path.name.split(".")
    if len(parts) < 5 or not path.name.endswith(TEMP_SUFFIX) or not parts[-3].isdigit():
        return None
    return int(parts[-3])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by another user
    return True


def remove_stale_temps(folder: Path, *, older_than_seconds: float = 60.0) -> int:
    """Delete temporary files of :func:`temp_path` in ``folder`` left by dead writers.

    A temporary file is removed only when its owner pid is no longer alive and it was
    last modified more than ``older_than_seconds`` ago (the age guards against a pid
    of another machine on a shared folder). Best effort: a folder that cannot be
    listed or written is left alone.

    Returns:
        How many files were removed. Cost: one listing of ``folder``.
    """
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        owner = temp_owner(Path(entry.name))
        if owner is None or owner == os.getpid() or _alive(owner):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime > older_than_seconds:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some file systems cannot open a folder; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def os_error_message(path: Path | str, exc: OSError) -> str:
    """One line for a failed write: the path, what went wrong, and what to do."""
    what = {
        errno.ENOSPC: "no space left on device; free space and run again",
        errno.EDQUOT: "disk quota exceeded; free space and run again",
        errno.EACCES: "permission denied; check the folder's permissions or choose "
        "another output folder",
        errno.EPERM: "permission denied; check the folder's permissions or choose "
        "another output folder",
        errno.EROFS: "read-only file system; choose another output folder",
    }.get(exc.errno or 0, f"{exc.strerror or exc}; check the folder and run again")
    return f"{path}: {what}"


def atomic_write(
    path: str | Path,
    data: bytes | Callable[[BinaryIO], object],
    *,
    durable: bool = True,
) -> Path:
    """Write a file so that readers see the old or the new contents, never part.

    The contents go to a temporary file beside ``path`` (see :func:`temp_path`), which
    is flushed, fsynced (``durable``), given the usual permissions (``0666 & ~umask``)
    and renamed over ``path``; then the folder is fsynced, so the rename itself
    survives a power loss. On any failure, Ctrl-C included, the temporary file is
    removed and ``path`` keeps its old contents.

    Args:
        path: the destination; its folder must exist.
        data: the bytes, or a function that writes them to a binary file object.
        durable: fsync the file and the folder (default). False for scratch output.

    Returns:
        ``path`` as a Path.

    Raises:
        OutputError: the file cannot be written (disk full, permissions, …); the
            message names ``path`` and says what to do.
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as handle:
            if isinstance(data, bytes | bytearray | memoryview):
                handle.write(data)
            else:
                data(handle)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(os_error_message(path, exc)) from exc
        raise
    if durable:
        _fsync_dir(path.parent)
    return path


def check_formats(
    formats: Iterable[str], allowed: Sequence[str], what: str = "output format"
) -> list[str]:
    """Normalize requested output formats (``"PNG"``, ``".pdf"``) and check them.

    Returns:
        The formats, lower case, without dots, duplicates dropped, in the order given.

    Raises:
        PokevizError: none given, or one not in ``allowed`` (the message lists them).
    """
    names = list(dict.fromkeys(f.lower().lstrip(".") for f in formats))
    bad = [f for f in names if f not in allowed]
    if bad or not names:
        raise PokevizError(
            f"unknown {what} {', '.join(bad) or '(none)'}: use one or more of "
            f"{', '.join(allowed)}"
        )
    return names
