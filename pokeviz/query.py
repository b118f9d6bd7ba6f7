"""DuckDB views over a run's sidecars: the SQL the plots use and users query.

:func:`connect` loads the manifest and the sidecars named in it into an in-memory
DuckDB database, defines the public views (:data:`VIEWS_SQL`, also in
``cache/views.sql``) and then turns off file access, so user SQL can read the views but
can neither change the cache nor write files.

Global training step (see the user docs): a file with ``n`` entries whose rollout ended
at global step ``T`` holds steps ``T - n + 1 … T``, entry ``i`` at ``T - n + 1 + i``;
``T`` is the file's ``total_steps`` when its entries carry one, else the running sum of
the entry counts of this file and every earlier file in file order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from .cache import MANIFEST, SIDECARS, read_manifest
from .discover import Run, file_order_key
from .errors import CacheError, QueryError
from .formats import COMPONENTS, FLOAT_COLUMNS, INT_COLUMNS

#: Rows in the ``reservoir`` view unless asked otherwise.
RESERVOIR_SIZE = 10_000
PUBLIC_VIEWS = (
    "files", "samples", "reservoir", "positions", "tiles", "file_stats", "milestones"
)

_SAMPLE_HEAD = ("episode_step", "map", "x", "y", "reward_total") + tuple(
    f"reward_{c}" for c in COMPONENTS
)

#: The public views, defined over the internal tables ``_manifest`` (one row per log
#: file), ``_samples`` and ``_stats`` (one row per sidecar row) and ``_tiles`` (the
#: positions sidecars summed over files while they are loaded, so memory grows with the
#: distinct tiles, not with the number of files). ``{extra_rewards}`` is the
#: list of extra ``reward_<name>`` columns found in the run; ``{reservoir_size}`` the
#: reservoir's size; ``{salt}`` 0, or a constant derived from a seed that picks another
#: (equally uniform and deterministic) reservoir.
FILES_VIEW_SQL = """
-- One row per log file, in file order, with its global step range.
CREATE VIEW files AS
WITH ordered AS (
    SELECT *,
           (sum(entries) OVER (ORDER BY seconds NULLS LAST, file
                               ROWS UNBOUNDED PRECEDING))::BIGINT AS running_entries,
           row_number() OVER (ORDER BY seconds NULLS LAST, file) AS file_order
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

#: How DuckDB reads manifest.json: the ``files`` object as a map of name → record.
#: (Reading it in DuckDB, not through a pyarrow table, keeps pandas out of warm runs.)
_MANIFEST_COLUMNS = (
    "{'files': 'MAP(VARCHAR, STRUCT(seconds BIGINT, size_bytes BIGINT, mtime_ns BIGINT, "
    "entries BIGINT, format VARCHAR, status VARCHAR, error VARCHAR, warning VARCHAR, "
    "bad_values BIGINT, skipped_entries BIGINT, total_steps BIGINT, parser VARCHAR))'}"
)

_EMPTY = {
    "_samples": "file VARCHAR, entry_index BIGINT, sample_key BIGINT, "
    + ", ".join(f"{c} BIGINT" for c in INT_COLUMNS)
    + ", "
    + ", ".join(f"{c} DOUBLE" for c in FLOAT_COLUMNS),
    "_tiles": "map BIGINT, x BIGINT, y BIGINT, visits BIGINT, first_global_step BIGINT",
    "_stats": "file VARCHAR, metric VARCHAR, n BIGINT, min DOUBLE, max DOUBLE, mean DOUBLE, "
    "std DOUBLE",
}


#: How each internal table is loaded from its sidecars (``{listing}``: the Parquet paths).
_LOAD = {
    "_samples": "CREATE TABLE _samples AS SELECT * FROM "
    "read_parquet([{listing}], union_by_name = true)",
    "_stats": "CREATE TABLE _stats AS SELECT * FROM read_parquet([{listing}])",
    "_tiles": "CREATE TABLE _tiles AS SELECT p.map, p.x, p.y, sum(p.visits)::BIGINT AS visits, "
    "min(f.first_global_step + p.first_entry_index)::BIGINT AS first_global_step "
    "FROM read_parquet([{listing}]) p JOIN files f USING (file) GROUP BY p.map, p.x, p.y",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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


def connect(
    run: Run,
    *,
    reservoir_size: int = RESERVOIR_SIZE,
    threads: int | None = None,
    allow_files: bool = False,
    seed: int = 0,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the run's public views.

    Args:
        run: a run whose cache :func:`pokeviz.cache.update_cache` has written.
        reservoir_size: rows in the ``reservoir`` view.
        threads: DuckDB threads (default: DuckDB's choice). Results do not depend on it.
        allow_files: keep DuckDB's file access on (off by default, so user SQL can't
            write files or read outside the views).
        seed: 0 for the standard reservoir; another value picks another uniform one.

    Returns:
        The connection; views ``files``, ``samples``, ``reservoir``, ``positions``,
        ``tiles`` and ``file_stats``.

    Raises:
        CacheError: no cache yet, or a sidecar cannot be read (run ``pokeviz ingest``).

    Cost: reads every sidecar once (small: ~100 samples, the distinct tiles and ~20
    statistics rows per log file).
    """
    for _attempt in range(5):
        manifest, note = read_manifest(run.cache_dir)
        if note or not (run.cache_dir / MANIFEST).exists():
            raise CacheError(
                f"{run.cache_dir}: no usable cache; run `pokeviz ingest {run.path}` first"
            )
        con = duckdb.connect(":memory:")
        con.execute(
            "CREATE TABLE _manifest AS SELECT entry.key AS file, unnest(entry.value) FROM "
            "(SELECT unnest(map_entries(files)) AS entry FROM "
            f"read_json({_quote(str(run.cache_dir / MANIFEST))}, columns = {_MANIFEST_COLUMNS}))"
        )
        loaded = con.execute("SELECT file, size_bytes, mtime_ns FROM _manifest").fetchall()
        if sorted(loaded) == sorted(
            (n, e["size_bytes"], e["mtime_ns"]) for n, e in manifest.items()
        ):
            break
        con.close()  # the manifest was replaced between the two reads (e.g. by watch)
    else:
        raise CacheError(f"{run.cache_dir}: the cache keeps changing; try again")
    # The sidecars are loaded in one thread: as fast as several for these small files,
    # and DuckDB's per-thread Parquet buffers no longer add ~30-50 MB to the peak.
    con.execute("SET threads = 1")
    con.execute(FILES_VIEW_SQL)
    names = sorted(manifest, key=file_order_key)
    sidecar_dir = run.cache_dir / SIDECARS
    for kind, internal in (
        ("samples", "_samples"),
        ("positions", "_tiles"),
        ("stats", "_stats"),
    ):
        paths = [str(sidecar_dir / f"{manifest[n]['sidecar']}.{kind}.parquet") for n in names]
        try:
            if paths:
                listing = ", ".join(_quote(p) for p in paths)
                con.execute(_LOAD[internal].format(listing=listing))
            else:
                con.execute(f"CREATE TABLE {internal} ({_EMPTY[internal]})")
        except duckdb.Error as exc:
            con.close()
            raise CacheError(
                f"{sidecar_dir}: a cached summary cannot be read ({str(exc).splitlines()[0]}); "
                f"run `pokeviz ingest --rebuild {run.path}`"
            ) from exc
    columns = {r[0] for r in con.execute("DESCRIBE _samples").fetchall()}
    extra = sorted(c for c in columns if c.startswith("reward_") and c not in FLOAT_COLUMNS)
    con.execute(
        VIEWS_SQL.format(
            sample_columns=_sample_columns(extra),
            reservoir_size=int(reservoir_size),
            salt=seed_salt(seed),
        )
    )
    con.execute(f"SET threads = {int(threads)}" if threads else "RESET threads")
    if not allow_files:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    return con


def run_sql(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one user query; return column names and rows.

    Raises:
        QueryError: the query failed (the message is DuckDB's first line).
    """
    try:
        cursor = con.execute(query)
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from exc


def schema(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """The public views and their (column, type) pairs, in definition order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for view in PUBLIC_VIEWS:
        out[view] = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {view}").fetchall()]
    return out


def extra_reward_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The run's ``reward_<name>`` columns beyond the standard components."""
    return [
        c for c, _ in schema(con)["samples"] if c.startswith("reward_") and c not in FLOAT_COLUMNS
    ]


def cache_path(run: Run) -> Path:
    """Where the run's cache lives (``<run>/plots/.cache``)."""
    return run.cache_dir


def print_views_sql() -> None:
    """Print the documented view SQL (``make cache-docs`` writes it to cache/views.sql)."""
    internal = "\n".join(f"-- CREATE TABLE {name} ({columns});" for name, columns in _EMPTY.items())
    print(
        "-- pokeviz: the views `pokeviz sql` and the plots query (generated by "
        "`make cache-docs`; do not edit).\n"
        "-- Internal tables, loaded from the manifest and the Parquet sidecars:\n"
        "-- CREATE TABLE _manifest (one row per log file: file, seconds, size_bytes, mtime_ns,\n"
        "--     entries, format, status, error, warning, bad_values, skipped_entries,\n"
        "--     total_steps, parser);\n"
        f"{internal}\n"
        "-- (_samples also has one DOUBLE column per extra reward component, e.g. reward_op_lvl;\n"
        "--  _tiles is the positions sidecars summed over files as they are loaded, with the\n"
        "--  global step of each tile's first visit)"
        + views_sql().rstrip()
    )
