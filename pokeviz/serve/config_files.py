"""The run's training configuration shown on the page: ``*.yaml``/``*.yml``/``*.json`` beside
``json_logs/``, as text."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ..discover import Run
from .catalog import inside

#: Suffixes of configuration files.
SUFFIXES = (".yaml", ".yml", ".json")
#: Bytes shown of one file at most (the rest is cut, and the answer says so).
MAX_BYTES = 512 * 1024
#: Files shown at most.
MAX_FILES = 20


def config_files(run: Run, root: Path) -> list[dict[str, Any]]:
    """The configuration files in the run folder (not in sub-folders), by name.

    Only regular files whose real path is inside ``root`` are read (a symlink out of the
    experiments folder is skipped), without blocking on FIFOs.

    Returns:
        ``[{"name", "size_bytes", "text", "truncated"}]``; text decoded as UTF-8 with
        replacement characters for invalid bytes; at most :data:`MAX_BYTES` each.
    """
    out: list[dict[str, Any]] = []
    try:
        names = sorted(e.name for e in os.scandir(run.path)
                       if e.name.lower().endswith(SUFFIXES))
    except OSError:
        return out
    for name in names[:MAX_FILES]:
        path = run.path / name
        if not inside(path, root):
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                continue
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read(MAX_BYTES + 1)
        finally:
            os.close(fd)
        out.append({"name": name, "size_bytes": info.st_size,
                    "text": raw[:MAX_BYTES].decode("utf-8", errors="replace"),
                    "truncated": len(raw) > MAX_BYTES})
    return out
