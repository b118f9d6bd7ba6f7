"""The dashboard's SQL box: one read-only query, a row cap, a time limit, CSV out.

Queries run on a run's views with the same lock-down as ``pokeviz sql`` (file access
off, so ``COPY … TO``, ``read_csv('/etc/passwd')`` and ``ATTACH`` fail). The server keeps
each run's connection open between requests, so a query must not change it either: only
one statement, and only a ``SELECT`` (``WITH``, ``FROM``, ``DESCRIBE``, ``SUMMARIZE``,
``VALUES``, ``SHOW``) or ``EXPLAIN``, is accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from ..errors import QueryError
from ..query import json_value, run_sql

#: Rows returned at most; more set ``truncated``.
MAX_ROWS = 10_000
#: Seconds a query may run before it is interrupted.
TIME_LIMIT_SECONDS = 15.0
_ALLOWED = {"SELECT", "EXPLAIN"}


def check_read_only(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Accept exactly one SELECT-like or EXPLAIN statement.

    Raises:
        QueryError: empty, several statements, a statement that is not a query, or SQL
            that does not parse (DuckDB's message).
    """
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip()) from exc
    if not statements:
        raise QueryError("empty query: type one SELECT statement")
    if len(statements) > 1:
        raise QueryError(f"{len(statements)} statements: run one SELECT at a time")
    kind = statements[0].type.name
    if kind not in _ALLOWED:
        raise QueryError(f"{kind} statements are not allowed: the views are read-only; "
                         "use SELECT")


def _cell(value: Any) -> Any:
    """A DuckDB value as JSON: numbers as :func:`pokeviz.query.json_value` has them
    (NaN/inf → None), dates → ISO text, nested values cell by cell, others → text."""
    value = json_value(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def run_query(
    con: duckdb.DuckDBPyConnection,
    query: str,
    *,
    max_rows: int = MAX_ROWS,
    time_limit_seconds: float = TIME_LIMIT_SECONDS,
) -> dict[str, Any]:
    """Run one read-only query on a run's views.

    Args:
        con: the run's view connection (file access off).
        query: one SELECT-like statement.
        max_rows: rows kept; ``truncated`` says whether there were more.
        time_limit_seconds: the query is interrupted after this long.

    Returns:
        ``{"columns": [...], "rows": [[...]], "truncated": bool}``, values JSON-able.

    Raises:
        QueryError: not a single read-only query, a DuckDB error (e.g. file access
            refused), or the time limit was reached.
    """
    check_read_only(con, query)
    cursor = con.cursor()  # its own connection to the same database: interruptible alone
    timer = threading.Timer(time_limit_seconds, cursor.interrupt)
    timer.start()
    try:
        names, rows, truncated = run_sql(cursor, query, max_rows=max_rows)
    except QueryError as exc:
        if not timer.is_alive():
            raise QueryError(f"the query took longer than {time_limit_seconds:g} s and "
                             "was stopped; add a LIMIT or a WHERE") from exc
        raise
    finally:
        timer.cancel()
        cursor.close()
    return {"columns": names, "rows": [[_cell(v) for v in r] for r in rows],
            "truncated": truncated}


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (header, then rows; None as an empty field)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
