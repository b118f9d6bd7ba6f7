"""The ``pokeviz`` command line: thin click wrappers over the library functions.

One module per group of commands; importing them registers their commands on ``main``.
"""

from __future__ import annotations

from . import data, figures, outputs, watching  # noqa: F401  (registers the commands)
from . import serve  # noqa: F401  (registers serve)
from . import stats  # noqa: F401  (registers stats)
from .common import main

__all__ = ["main"]
