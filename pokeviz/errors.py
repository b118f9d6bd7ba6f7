"""The one exception family of pokeviz: problems a user can fix, with messages that say how."""

from __future__ import annotations


class PokevizError(Exception):
    """Base class of every error pokeviz raises on purpose.

    The message names the file or path involved and says what to do. The CLI turns
    it into ``Error: <message>`` and exit status 1; library callers can catch it.
    """


class RunNotFoundError(PokevizError):
    """A run, variant or experiments directory does not exist or holds no run."""


class NoLogFilesError(PokevizError):
    """A run directory has no ``json_logs/`` folder or no ``stats_*.json`` file in it."""


class MapTableError(PokevizError):
    """A ``map_data.json`` map table cannot be read or has the wrong shape."""


class CacheError(PokevizError):
    """The Parquet cache of a run cannot be read or written."""


class QueryError(PokevizError):
    """A user SQL query failed or tried to change the cache."""


class OutputError(PokevizError):
    """A file cannot be written (disk full, permissions, read-only file system)."""
