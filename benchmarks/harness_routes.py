"""The core routes of ``make bench``: pokeviz commands and the DuckDB peer on one data set.

Every route is a separate process, measured K times (median wall time). Each route's
output is checked, so a fast route that skipped work cannot pass: ingests must report
the peer's entries, visits and distinct tiles; plots must say whether a map table was
used; ``sql`` must count every file; ``+1 file`` must read exactly one new file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness_data import DataSet, without_map_table
from harness_measure import Route
from harness_table import Row

from pokeviz.kanto import TABLE_NAME

HERE = Path(__file__).resolve().parent
#: The memory target of every pokeviz process, and how flat it must stay in files.
RSS_TARGET_MB = 300.0
FLAT_RATIO = 1.10


@dataclass
class Context:
    """What every route needs: how to call pokeviz, K, and the environment."""

    pokeviz: list[str]
    repeat: int
    env: dict[str, str] = field(default_factory=lambda: _clean_env())


def _clean_env() -> dict[str, str]:
    env = dict(os.environ, TQDM_DISABLE="1")
    env.pop("POKEVIZ_MAP_DATA", None)  # the routes choose their map table themselves
    return env


# ---------------------------------------------------------------------------
# Checking what a route did


def peer_counts(route: Route) -> tuple[int, int, int] | None:
    """(entries, visits, tiles) the DuckDB peer printed (its last sample)."""
    for output in reversed(route.outputs):
        for line in output.splitlines():
            if line.startswith("{"):
                data = json.loads(line)
                return int(data["entries"]), int(data["visits"]), int(data["tiles"])
    return None


def ingest_counts(output: str) -> tuple[int, int, int] | None:
    """(entries, visits, unique tiles) from a pokeviz ingest or plot summary."""
    entries = re.search(r"^entries\s+([\d,]+)", output, re.M)
    tiles = re.search(r"^tiles\s+([\d,]+) unique.*?([\d,]+) visits", output, re.M)
    if not (entries and tiles):
        return None
    number = lambda text: int(text.replace(",", ""))  # noqa: E731
    return number(entries[1]), number(tiles[2]), number(tiles[1])


def check(row: Row, route: Route, test, what: str) -> Row:
    """Mark ``row`` FAIL with a note when any sample's output fails ``test``."""
    if route.error:
        return row
    bad = [i for i, out in enumerate(route.outputs) if not test(out)]
    if bad:
        row.ok = False
        row.note = f"work check failed ({what}) in run {bad[0] + 1}: " + (
            route.outputs[bad[0]].strip().splitlines() or ["no output"])[-1][:120]
    elif not row.note:
        row.note = f"checked: {what}"
    return row


def tables_digest(run: Path) -> str:
    """One digest of every view of the run's cache (sorted rows): equal caches, equal text."""
    from pokeviz.api import open_run
    from pokeviz.query import schema

    digest = hashlib.sha256()
    with open_run(run, update=False) as view:
        for name in schema(view.con):
            digest.update(name.encode())
            cursor = view.con.execute(f"SELECT * FROM {name} ORDER BY ALL")
            while batch := cursor.fetchmany(50_000):
                digest.update(repr(batch).encode())
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Routes


def clear_cache(data: DataSet) -> None:
    shutil.rmtree(data.run / "plots" / ".cache", ignore_errors=True)


def peer_route(data: DataSet) -> tuple[Route, list[str]]:
    """The one-pass DuckDB read_json peer (2 threads) and its command."""
    return (Route("peer: DuckDB read_json, 2 threads, one pass"),
            [sys.executable, str(HERE / "peer_duckdb.py"), str(data.run), "--threads", "2"])


def ingest_and_cluster(ctx: Context, data: DataSet, scheduler: str | None) -> list[Row]:
    """The peer, cold ingest and (optionally) the Dask ingest, interleaved K times."""
    peer, peer_command = peer_route(data)
    cold = Route("pokeviz ingest, cold (cache deleted)")
    dask = Route(f"pokeviz ingest --scheduler {scheduler}, cold") if scheduler else None
    digests: dict[str, str] = {}
    for _ in range(ctx.repeat):
        peer.add(peer_command)
        clear_cache(data)
        if cold.add([*ctx.pokeviz, "ingest", str(data.run)], ctx.env) and "local" not in digests:
            digests["local"] = tables_digest(data.run)
        if dask is not None:
            clear_cache(data)
            command = [*ctx.pokeviz, "ingest", str(data.run), "--scheduler", scheduler]
            if dask.add(command, ctx.env) and "dask" not in digests:
                digests["dask"] = tables_digest(data.run)
    if not (data.run / "plots" / ".cache").exists():
        ctx_ingest = Route("untimed ingest")
        ctx_ingest.add([*ctx.pokeviz, "ingest", str(data.run)], ctx.env)
    duck = peer.wall
    counts = peer_counts(peer)
    label = data.label
    rows = [Row.of(label, peer, duck)]
    if counts is not None:
        rows[0].note = (f"{counts[0]:,} entries, {counts[2]:,} distinct tiles"
                        f" (expected {data.entries:,} entries)")  # fmt: skip
        rows[0].ok = counts[0] == data.entries
    same = lambda out: counts is not None and ingest_counts(out) == counts  # noqa: E731
    target = 1.0 if data.name == "40" else 1.2
    rows.append(check(Row.of(label, cold, duck, target_ratio=target,
                             target_rss_mb=RSS_TARGET_MB),
                      cold, same, "entries, visits and tiles = the peer's"))  # fmt: skip
    if dask is not None:
        row = check(Row.of(label, dask, duck), dask, same, "same counts")
        if not dask.error:
            equal = "local" in digests and digests.get("dask") == digests["local"]
            speed = "" if not (cold.wall and dask.wall) else \
                f"{dask.wall / cold.wall:.2f}x the local ingest; "
            row.note = f"{speed}tables equal: {'yes' if equal else 'no'}"
            row.ok = equal and row.ok is not False
        rows.append(row)
    return rows


def warm_plots(ctx: Context, data: DataSet, duck: float | None, with_and_without: bool,
               target: float) -> list[Row]:  # fmt: skip
    """Warm ``pokeviz plot`` (nothing changed) with the map table, and without one.

    Nothing changed, so the images are kept (``figures.json``): the check asks for both
    ``kept`` lines. A row of ``--redraw`` on the same run shows what drawing costs (what
    a run that changed pays), without a target of its own.
    """
    plot = [*ctx.pokeviz, "plot", str(data.run)]
    Route("untimed").add(plot, ctx.env)  # fonts, first imports, a complete cache
    found = f"map      {data.root / TABLE_NAME}"
    kept = lambda out: out.count("\nkept     ") == 2  # noqa: E731
    with_table = Route("pokeviz plot, warm, with map_data.json")
    for _ in range(ctx.repeat):
        with_table.add(plot, ctx.env)
    rows = [check(Row.of(data.label, with_table, duck, target_ratio=target,
                         target_rss_mb=RSS_TARGET_MB),
                  with_table, lambda out: found in out and kept(out),
                  "the map table was used; both images kept")]  # fmt: skip
    redraw = Route("pokeviz plot --redraw, warm (both images drawn)")
    for _ in range(ctx.repeat):
        redraw.add([*plot, "--redraw"], ctx.env)
    rows.append(check(Row.of(data.label, redraw, duck, target_rss_mb=RSS_TARGET_MB), redraw,
                      lambda out: found in out and out.count("\nwrote    ") == 2,
                      "both images drawn and written"))  # fmt: skip
    if with_and_without:
        without = Route("pokeviz plot, warm, no map table (per-map panels)")
        with without_map_table(data):
            Route("untimed").add(plot, ctx.env)  # the per-map images, drawn once
            for _ in range(ctx.repeat):
                without.add(plot, ctx.env)
        rows.append(check(Row.of(data.label, without, duck, target_ratio=target,
                                 target_rss_mb=RSS_TARGET_MB),
                          without, lambda out: "no map table" in out and kept(out),
                          "no map table was found; both images kept"))  # fmt: skip
    return rows


def sql_and_one_file(ctx: Context, data: DataSet, duck: float | None) -> list[Row]:
    """Warm ``pokeviz sql RUN "select count(*) from files"`` and the ingest of 1 new file."""
    sql = Route('pokeviz sql RUN "select count(*) from files", warm')
    for _ in range(ctx.repeat):
        sql.add([*ctx.pokeviz, "sql", str(data.run), "select count(*) from files"], ctx.env)
    rows = [check(Row.of(data.label, sql, duck, target_ratio=0.1, target_rss_mb=RSS_TARGET_MB),
                  sql, lambda out: re.search(rf"^\s*{data.files}\s*$", out, re.M) is not None,
                  f"counts {data.files} files")]  # fmt: skip
    if data.spare is None:
        return rows
    one = Route("pokeviz ingest of 1 new file")
    ingest = [*ctx.pokeviz, "ingest", str(data.run)]
    for _ in range(ctx.repeat):
        os.replace(data.spare, data.spare_in_run())
        try:
            one.add(ingest, ctx.env)
        finally:
            data.put_spare_away()
        Route("untimed").add(ingest, ctx.env)  # drops the file again: the next run adds it
    rows.append(check(Row.of(data.label, one, duck, target_ratio=0.15,
                             target_rss_mb=RSS_TARGET_MB),
                      one, lambda out: "this update: 1 new, 0 re-read" in out,
                      "exactly 1 new file read"))  # fmt: skip
    return rows


def memory_rows(per_run: dict[str, list[Row]]) -> list[Row]:
    """Peak RSS of any pokeviz process per data set, and whether it is flat in files."""
    rows = []
    peaks = {}
    for label, rows_of_run in per_run.items():
        measured = [r.rss_mb for r in rows_of_run if r.rss_mb is not None
                    and r.route.startswith("pokeviz")]  # fmt: skip
        peaks[label] = max(measured, default=None)
        rows.append(Row(label, "peak RSS of any pokeviz process (routes above)",
                        rss_mb=peaks[label], target_rss_mb=RSS_TARGET_MB))  # fmt: skip
    labels = list(peaks)
    if len(labels) == 2 and all(peaks.values()):
        small, large = peaks[labels[0]], peaks[labels[1]]
        rows[-1].ok = large <= FLAT_RATIO * small
        rows[-1].note = (f"flat in files: {large / small:.2f}x the {labels[0]} run "
                         f"(≤ {FLAT_RATIO:.2f}x)")  # fmt: skip
    return rows
