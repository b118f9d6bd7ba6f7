"""The ``pokeviz`` command line: thin click wrappers over the library functions.

One module per group of commands; importing them registers their commands on ``main``.
"""

from __future__ import annotations

from . import data, figures, outputs, serve, stats, watching  # noqa: F401  (registers them)
from .common import main

__all__ = ["main"]
