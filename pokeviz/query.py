"""DuckDB views over a run's sidecars: the SQL the plots use and users query.

:func:`connect` loads the manifest and the packs and sidecars it names into an
in-memory DuckDB database, defines the public views (:data:`VIEWS_SQL`, also in
``cache/views.sql``) and then turns off file access, so user SQL can read the views but
can neither change the cache nor write files.

Global training step (see the user docs): a file with ``n`` entries whose rollout ended
at global step ``T`` holds steps ``T - n + 1 … T``, entry ``i`` at ``T - n + 1 + i``;
``T`` is the file's ``total_steps`` when its entries carry one, else the running sum of
the entry counts of this file and every earlier file in file order.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from . import lock
from .discover import Run, printable
from .errors import CacheError, QueryError
from .formats import COMPONENTS, FLOAT_COLUMNS, INT_COLUMNS
from .manifest import SIDECARS, Manifest, file_seconds, load_manifest, order_key
from .packs import load_tables, sources

#: Rows in the ``reservoir`` view unless asked otherwise.
RESERVOIR_SIZE = 10_000
PUBLIC_VIEWS = (
    "files", "samples", "reservoir", "positions", "tiles", "file_stats", "milestones"
)

_SAMPLE_HEAD = ("episode_step", "map", "x", "y", "reward_total") + tuple(
    f"reward_{c}" for c in COMPONENTS
)

#: The public views, defined over the internal tables ``_manifest`` (one row per log
#: file, with its place in file order computed in Python), ``_samples`` and ``_stats``
#: (one row per sidecar row) and ``_tiles`` (the positions rows summed over files while
#: they are loaded, so memory grows with the distinct tiles, not with the files).
#: ``{extra_rewards}`` is the list of extra ``reward_<name>`` columns found in the run;
#: ``{reservoir_size}`` the reservoir's size; ``{salt}`` 0, or a constant derived from a
#: seed that picks another (equally uniform and deterministic) reservoir.
FILES_VIEW_SQL = """
-- One row per log file, in file order, with its global step range.
CREATE VIEW files AS
WITH ordered AS (
    SELECT *,
           (sum(entries) OVER (ORDER BY file_order
                               ROWS UNBOUNDED PRECEDING))::BIGINT AS running_entries
    FROM _manifest
)
SELECT file, file_order, size_bytes, mtime_ns, entries, format, status, error, warning,
       bad_values, skipped_entries, total_steps,
       CASE WHEN entries > 0
            THEN coalesce(total_steps, running_entries) - entries + 1 END AS first_global_step,
       CASE WHEN entries > 0
            THEN coalesce(total_steps, running_entries) END AS last_global_step,
       parser
FROM ordered
ORDER BY file_order;

"""

#: The other views, defined once ``files`` and the sidecar tables exist.
VIEWS_SQL = """
-- Up to 100 time-uniform samples per file, with their global step.
CREATE VIEW samples AS
SELECT s.file, s.entry_index, f.first_global_step + s.entry_index AS global_step,
       {sample_columns}, s.sample_key
FROM _samples s JOIN files f USING (file)
ORDER BY f.file_order, s.entry_index;

-- A uniform sample of `samples`, the same whatever the file order or worker count:
-- the rows with the smallest stable per-sample keys.
CREATE VIEW reservoir AS
SELECT * FROM (
    SELECT * FROM samples ORDER BY xor(sample_key, {salt}), file, entry_index
    LIMIT {reservoir_size}
) ORDER BY global_step, file, entry_index;

-- Exact visits per tile (map, local x, local y) over every entry of every file.
CREATE VIEW positions AS
SELECT map, x, y, visits FROM _tiles ORDER BY map, x, y;

-- Each tile with the global step of its first visit.
CREATE VIEW tiles AS
SELECT map, x, y, first_global_step, visits FROM _tiles ORDER BY map, x, y;

-- Exact per-file statistics of every metric, over all entries of the file.
CREATE VIEW file_stats AS
SELECT s.file, f.first_global_step, f.last_global_step, s.metric, s.n, s.min, s.max,
       s.mean, s.std
FROM _stats s JOIN files f USING (file)
ORDER BY f.file_order, s.metric;

-- Milestones: the first global step each map was visited (kind 'map', key = map id;
-- exact, over every entry) and each badge count k (1-8) was first reached (kind
-- 'badge', key = k): in the first file whose maximum badge count reached k, the
-- earliest sample with badges >= k, else that file's last step (within that file).
CREATE VIEW milestones AS
WITH badge_files AS (
    SELECT f.file, f.file_order, f.last_global_step, s.max AS top
    FROM _stats s JOIN files f USING (file)
    WHERE s.metric = 'badges' AND s.n > 0 AND s.max >= 1
),
counts AS (
    SELECT unnest(range(1, least(coalesce((SELECT max(top) FROM badge_files), 0), 8)::BIGINT
                           + 1)) AS k
),
firsts AS (
    SELECT c.k, arg_min(b.file, b.file_order) AS file
    FROM counts c JOIN badge_files b ON b.top >= c.k GROUP BY c.k
)
SELECT 'map' AS kind, map AS key, min(first_global_step)::BIGINT AS first_global_step
FROM _tiles GROUP BY map
UNION ALL
SELECT 'badge', fi.k, coalesce(min(s.global_step), any_value(f.last_global_step))::BIGINT
FROM firsts fi JOIN files f USING (file)
LEFT JOIN samples s ON s.file = fi.file AND s.badges >= fi.k
GROUP BY fi.k
ORDER BY kind DESC, first_global_step, key;
"""

_EMPTY = {
    "_samples": "file VARCHAR, entry_index BIGINT, sample_key BIGINT, "
    + ", ".join(f"{c} BIGINT" for c in INT_COLUMNS)
    + ", "
    + ", ".join(f"{c} DOUBLE" for c in FLOAT_COLUMNS),
    "_tiles": "map BIGINT, x BIGINT, y BIGINT, visits BIGINT, first_global_step BIGINT",
    "_stats": "file VARCHAR, metric VARCHAR, n BIGINT, min DOUBLE, max DOUBLE, mean DOUBLE, "
    "std DOUBLE",
}


#: How each internal table is made from the rows of every file (``{rows}``: a query).
_LOAD = {
    "_samples": "CREATE TABLE _samples AS SELECT * FROM ({rows})",
    "_stats": "CREATE TABLE _stats AS SELECT * FROM ({rows})",
    "_tiles": "CREATE TABLE _tiles AS SELECT p.map, p.x, p.y, sum(p.visits)::BIGINT AS visits, "
    "min(f.first_global_step + p.first_entry_index)::BIGINT AS first_global_step "
    "FROM ({rows}) p JOIN files f USING (file) GROUP BY p.map, p.x, p.y",
}
_MANIFEST_COLUMNS = ("seconds", "size_bytes", "mtime_ns", "entries", "bad_values",
                     "skipped_entries", "total_steps")
_MANIFEST_TEXT = ("format", "status", "error", "warning", "parser")
#: Rows a table-format answer holds at most (CSV and JSON stream every row).
MAX_ROWS = 10_000


def seed_salt(seed: int) -> int:
    """The int64 the reservoir keys are XOR-ed with for ``seed`` (0 for seed 0)."""
    if seed == 0:
        return 0
    mixed = (seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    return mixed - (1 << 64) if mixed >= 1 << 63 else mixed


def _sample_columns(extra_rewards: Sequence[str]) -> str:
    head = list(_SAMPLE_HEAD) + list(extra_rewards)
    rest = [c for c in (*FLOAT_COLUMNS, *INT_COLUMNS) if c not in head]
    return ", ".join(f"s.{c}" for c in head + rest)


def views_sql(
    extra_rewards: Sequence[str] = (), reservoir_size: int = RESERVOIR_SIZE, seed: int = 0
) -> str:
    """The SQL of the public views for a run with the given extra reward columns."""
    return FILES_VIEW_SQL + VIEWS_SQL.format(
        sample_columns=_sample_columns(extra_rewards),
        reservoir_size=int(reservoir_size),
        salt=seed_salt(seed),
    )



def _manifest_rows(manifest: Manifest) -> dict[str, Any]:
    """``_manifest``'s columns as object arrays (None = NULL): display names, file order
    and the names' numbers computed in Python. (No Arrow: a warm run imports no pyarrow.)"""
    import numpy as np

    names = sorted(manifest.files, key=order_key)
    records = [manifest.files[n] for n in names]
    columns: dict[str, list[Any]] = {
        "file": [printable(n) for n in names],
        "file_order": list(range(1, len(names) + 1)),
        "seconds": [file_seconds(n) for n in names],
    }
    for column in (*_MANIFEST_COLUMNS, *_MANIFEST_TEXT):
        if column not in columns:
            columns[column] = [r.get(column) for r in records]
    return {name: np.array(values, dtype=object) for name, values in columns.items()}


#: ``_manifest`` from :func:`_manifest_rows` (registered as ``_rows``), typed.
_MANIFEST_SQL = "CREATE TABLE _manifest AS SELECT file::VARCHAR AS file, " + ", ".join(
    [f"{c}::BIGINT AS {c}" for c in ("file_order", *_MANIFEST_COLUMNS)]
    + [f"{c}::VARCHAR AS {c}" for c in _MANIFEST_TEXT]
) + " FROM _rows"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet_rows(parts: list[tuple[Path, set[str] | None]]) -> str:
    """A query over the Parquet files of one kind, keeping only current files' rows."""
    whole = [path for path, names in parts if names is None]
    selects = []
    if whole:
        listing = ", ".join(_quote(str(path)) for path in whole)
        selects.append(f"SELECT * FROM read_parquet([{listing}], union_by_name = true)")
    for path, names in parts:
        if names is not None:
            keep = ", ".join(_quote(name) for name in sorted(names))
            source = f"read_parquet({_quote(str(path))})"
            selects.append(f"SELECT * FROM {source} WHERE file IN ({keep})")
    return " UNION ALL BY NAME ".join(selects)


def _load(con: duckdb.DuckDBPyConnection, cache_dir: Path, manifest: Manifest) -> None:
    """Create ``_samples``, ``_tiles`` and ``_stats`` from the packs and loose sidecars.

    DuckDB reads the Parquet files itself; a cache folder whose path is not UTF-8
    (which DuckDB cannot open) is read through Arrow instead.
    """
    try:
        str(cache_dir).encode()
        tables = None
    except UnicodeEncodeError:
        tables = load_tables(cache_dir, manifest)
    for internal, kind in (("_samples", "samples"), ("_tiles", "positions"), ("_stats", "stats")):
        if tables is not None:
            if tables[kind] is None:
                con.execute(f"CREATE TABLE {internal} ({_EMPTY[internal]})")
                continue
            con.register("_rows", tables[kind])
            try:
                con.execute(_LOAD[internal].format(rows="SELECT * FROM _rows"))
            finally:
                con.unregister("_rows")
            continue
        parts = sources(cache_dir, manifest, kind)
        if not parts:
            con.execute(f"CREATE TABLE {internal} ({_EMPTY[internal]})")
            continue
        try:
            con.execute(_LOAD[internal].format(rows=_parquet_rows(parts)))
        except duckdb.Error as exc:
            raise CacheError(
                f"{cache_dir / SIDECARS}: a cached summary cannot be read "
                f"({str(exc).splitlines()[0]}); run `pokeviz ingest --rebuild` on the run"
            ) from exc


def connect(
    run: Run,
    *,
    reservoir_size: int = RESERVOIR_SIZE,
    threads: int | None = None,
    allow_files: bool = False,
    seed: int = 0,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the run's public views.

    The manifest is read once, and the packs and loose sidecars it names are read while
    holding the cache's reader lock, so a concurrent writer never leaves a half state.

    Args:
        run: a run whose cache :func:`pokeviz.cache.update_cache` has written.
        reservoir_size: rows in the ``reservoir`` view.
        threads: DuckDB threads (default: DuckDB's choice). Results do not depend on it.
        allow_files: keep DuckDB's file access on (off by default: user SQL can neither
            write files nor read any, ``COPY``, ``read_csv``, ``ATTACH`` all fail).
        seed: 0 for the standard reservoir; another value picks another uniform one.

    Returns:
        The connection; views ``files``, ``samples``, ``reservoir``, ``positions``,
        ``tiles`` and ``file_stats``.

    Raises:
        CacheError: no cache yet, or a cached file cannot be read (run ``pokeviz ingest``).

    Cost: one manifest read and one read per pack (a few files for any number of log
    files); memory grows with the samples and the distinct tiles of each file.
    """
    con = duckdb.connect(":memory:")
    try:
        # Loaded in one thread: as fast as several for these small tables, and without
        # DuckDB's per-thread buffers in the peak memory.
        con.execute("SET threads = 1")
        con.execute("SET enable_progress_bar = false")
        with lock.reading(run.cache_dir):
            manifest = load_manifest(run.cache_dir)
            if manifest.raw is None:
                raise CacheError(
                    f"{run.cache_dir}: no usable cache; run `pokeviz ingest {run.path}` first"
                )
            con.register("_rows", _manifest_rows(manifest))
            con.execute(_MANIFEST_SQL)
            con.unregister("_rows")
            con.execute(FILES_VIEW_SQL)
            _load(con, run.cache_dir, manifest)
        columns = {r[0] for r in con.execute("DESCRIBE _samples").fetchall()}
        extra = sorted(c for c in columns if c.startswith("reward_") and c not in FLOAT_COLUMNS)
        con.execute(VIEWS_SQL.format(
            sample_columns=_sample_columns(extra),
            reservoir_size=int(reservoir_size),
            salt=seed_salt(seed),
        ))
        con.execute(f"SET threads = {int(threads)}" if threads else "RESET threads")
        if not allow_files:
            # No spill folder (DuckDB's default, ./.tmp, would stay reachable), no
            # allowed folders or paths, then no file access at all, locked.
            con.execute("SET temp_directory = ''")
            con.execute("SET allowed_directories = []")
            con.execute("SET allowed_paths = []")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def stream_sql(
    con: duckdb.DuckDBPyConnection, query: str, *, batch_rows: int = 10_000
) -> tuple[list[str], Iterator[list[tuple[Any, ...]]]]:
    """Run one user query and stream its answer in batches.

    Returns:
        The column names, and an iterator of row batches (lists of at most
        ``batch_rows`` tuples). Memory holds one batch, whatever the answer's size.

    Raises:
        QueryError: the query failed; the message is DuckDB's, with its hints
            (``Candidate bindings``, the ``LINE 1: … ^`` pointer).
    """
    try:
        cursor = con.execute(query)
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip()) from exc
    if cursor.description is None:
        return [], iter(())
    columns = [d[0] for d in cursor.description]

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        while True:
            try:
                rows = cursor.fetchmany(batch_rows)
            except duckdb.Error as exc:
                raise QueryError(str(exc).strip()) from exc
            if not rows:
                return
            yield rows

    return columns, batches()


def run_sql(
    con: duckdb.DuckDBPyConnection, query: str, *, max_rows: int | None = MAX_ROWS
) -> tuple[list[str], list[tuple[Any, ...]], bool]:
    """Run one user query; return its columns, at most ``max_rows`` rows, and whether
    rows were left out (the ``POST /api/sql`` and table-format answer).

    Args:
        con: a connection from :func:`connect`.
        query: one SQL statement.
        max_rows: the cap (None: every row).

    Returns:
        ``(columns, rows, truncated)``. Memory holds at most ``max_rows`` + one batch.

    Raises:
        QueryError: the query failed (DuckDB's message with its hints).
    """
    columns, batches = stream_sql(con, query)
    rows: list[tuple[Any, ...]] = []
    for batch in batches:
        rows.extend(batch)
        if max_rows is not None and len(rows) > max_rows:
            return columns, rows[:max_rows], True
    return columns, rows, False


def json_value(value: Any) -> Any:
    """A value as JSON can hold it: NaN and ±Infinity become None (``null``), a DECIMAL
    a number; anything else JSON lacks (dates, …) is left for the caller to write as text."""
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def schema(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """The public views and their (column, type) pairs, in definition order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for view in PUBLIC_VIEWS:
        out[view] = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {view}").fetchall()]
    return out


def print_views_sql() -> None:
    """Print the documented view SQL (``make cache-docs`` writes it to cache/views.sql)."""
    internal = "\n".join(f"-- CREATE TABLE {name} ({columns});" for name, columns in _EMPTY.items())
    print(
        "-- pokeviz: the views `pokeviz sql` and the plots query (generated by "
        "`make cache-docs`; do not edit).\n"
        "-- Internal tables, loaded from the manifest and the Parquet packs and sidecars:\n"
        "-- CREATE TABLE _manifest (one row per log file: file, file_order, seconds,\n"
        "--     size_bytes, mtime_ns, entries, bad_values, skipped_entries, total_steps,\n"
        "--     format, status, error, warning, parser);\n"
        f"{internal}\n"
        "-- (_samples also has one DOUBLE column per extra reward component, e.g. reward_op_lvl;\n"
        "--  _tiles is the positions rows summed over files as they are loaded, with the\n"
        "--  global step of each tile's first visit)"
        + views_sql().rstrip()
    )
