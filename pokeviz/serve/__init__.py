"""``pokeviz serve``: a live web dashboard over the runs of an experiments folder."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
