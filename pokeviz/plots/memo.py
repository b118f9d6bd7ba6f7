"""Figures that need no redrawing: the same data, options and code give the same bytes.

pokeviz figures are deterministic (:func:`pokeviz.plots.style.save_figure`), so a
figure whose inputs are unchanged since it was written would be written again byte for
byte. :class:`FigureMemo` keeps, per output file, a digest of those inputs and of the
bytes written (``<run>/plots/.cache/figures.json``); a re-run whose inputs match and
whose file still has those bytes keeps the file and draws nothing. That is what makes
``pokeviz plot`` on an unchanged run cost its data queries, not matplotlib.

The inputs digested: the figure's data (every number of :class:`RewardData` or
:class:`HeatmapData`), its title, the output format, the pokeviz source, the versions
of matplotlib, Pillow and numpy, any ``matplotlibrc`` matplotlib would read and its
font list.
A missing, edited or unreadable file, or a memo file that cannot be read, means a
redraw: the memo can only skip work, never change an output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import OutputError
from ..outputs import atomic_write

__all__ = ["MEMO_NAME", "FigureMemo", "data_digest", "output_lines"]

#: The memo's file in its folder.
MEMO_NAME = "figures.json"
_PACKAGE = Path(__file__).resolve().parents[1]


def _feed(digest: Any, value: Any) -> None:
    """Add ``value`` to ``digest``, with its type, so different values never collide."""
    import numpy as np

    if isinstance(value, np.ndarray):
        digest.update(f"array {value.dtype.str} {value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(type(value).__qualname__.encode())
        for item in dataclasses.fields(value):
            digest.update(item.name.encode())
            _feed(digest, getattr(value, item.name))
    elif isinstance(value, dict):
        digest.update(f"dict {len(value)}".encode())
        for key in sorted(value, key=repr):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, list | tuple):
        digest.update(f"{type(value).__name__} {len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:  # numbers (repr is exact), strings, None, paths
        digest.update(f"{type(value).__name__} {value!r};".encode())


def data_digest(value: Any) -> str:
    """A sha256 of a figure's data: dataclasses, arrays, containers and scalars."""
    digest = hashlib.sha256()
    _feed(digest, value)
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """A sha256 of what draws the figures: pokeviz's source and the drawing libraries.

    Cost: reading pokeviz's ``.py`` files (~1 MB) once per process.
    """
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(_PACKAGE)).encode())
        digest.update(path.read_bytes())
    for package in ("matplotlib", "pillow", "numpy"):
        try:
            digest.update(f"{package} {version(package)}".encode())
        except PackageNotFoundError:
            digest.update(f"{package} missing".encode())
    for rc in _matplotlibrc_candidates():
        with contextlib.suppress(OSError):
            digest.update(rc.read_bytes())
    return digest.hexdigest()


def _matplotlibrc_candidates() -> list[Path]:
    """The files besides its own that decide how matplotlib draws: any ``matplotlibrc``
    it may read, and its font list (which fonts a family name resolves to)."""
    config = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "matplotlib")
    cache = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    candidates = [Path("matplotlibrc"), Path(config) / "matplotlibrc"]
    if os.environ.get("MATPLOTLIBRC"):
        candidates.append(Path(os.environ["MATPLOTLIBRC"]))
    with contextlib.suppress(OSError):
        candidates.extend(sorted(Path(cache).glob("fontlist-*.json")))
    return candidates


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class FigureMemo:
    """The inputs and bytes of the figures last written into one folder's files.

    Args:
        folder: where the memo file lives (a run's cache folder, or ``.cache/`` in the
            output folder of ``compare``); it is created when the memo is saved.
        reuse: False draws every figure again (``--redraw``) and still records them.

    Not a lock: two processes drawing the same figures at once may each redraw; the last
    memo written wins, and a lost record only costs a redraw.
    """

    def __init__(self, folder: Path, *, reuse: bool = True) -> None:
        self.path = folder / MEMO_NAME
        self.reuse = reuse
        self.records: dict[str, dict[str, str]] = {}
        #: files found unchanged by :meth:`to_draw`, so kept as they are.
        self.kept: list[Path] = []
        #: the inputs digest of every file :meth:`to_draw` was asked about.
        self._keys: dict[Path, str] = {}
        try:
            records = json.loads(self.path.read_text())
            if isinstance(records, dict):
                self.records = records
        except (OSError, ValueError):
            pass

    @staticmethod
    def key(data_key: str, title: str, fmt: str) -> str:
        """The digest of everything a figure file's bytes depend on.

        ``data_key`` is :func:`data_digest` of the figure's data (computed once for all
        of its formats).
        """
        return data_digest((code_digest(), fmt, title, data_key))

    def to_draw(self, data: Any, title: str,
                targets: Sequence[tuple[Path, str]]) -> list[tuple[Path, str]]:
        """The ``(path, format)`` targets of one figure that must be drawn.

        The others hold the bytes last written for the same inputs: they are added to
        :attr:`kept`. Call :meth:`remember` for each target once it is written.
        """
        data_key = data_digest(data)
        todo = []
        for path, fmt in targets:
            self._keys[path] = self.key(data_key, title, fmt)
            if self._unchanged(path, self._keys[path]):
                self.kept.append(path)
            else:
                todo.append((path, fmt))
        return todo

    def _unchanged(self, path: Path, key: str) -> bool:
        """Whether ``path`` holds the bytes last written for inputs ``key``."""
        if not self.reuse:
            return False
        record = self.records.get(str(Path(path).resolve()))
        return (isinstance(record, dict) and record.get("key") == key
                and _file_digest(Path(path)) == record.get("sha256"))  # fmt: skip

    def remember(self, path: Path) -> None:
        """Record that ``path`` (a target of :meth:`to_draw`) was just written."""
        digest = _file_digest(Path(path))
        if digest is not None:
            self.records[str(Path(path).resolve())] = {"key": self._keys[path],
                                                       "sha256": digest}

    def save(self) -> None:
        """Write the memo (atomically, its folder created if need be).

        A memo that cannot be written loses only a speed-up: the next run draws again.
        """
        text = json.dumps(self.records, indent=1, sort_keys=True) + "\n"
        with contextlib.suppress(OSError, OutputError):
            self.path.parent.mkdir(exist_ok=True)
            atomic_write(self.path, text.encode(), durable=False)


def output_lines(paths: Sequence[Path], kept: Sequence[Path]) -> list[str]:
    """The summary lines of the files of one command: ``wrote`` or ``kept`` each."""
    return [f"kept     {path} (unchanged inputs; --redraw draws it again)" if path in kept
            else f"wrote    {path}" for path in paths]
