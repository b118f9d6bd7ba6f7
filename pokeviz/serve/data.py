"""The JSON behind each part of the dashboard, read from one run's views.

Every function takes an open :class:`pokeviz.api.RunView` and returns plain JSON-able
values (NaN → None). Figures come from the shared figure-data functions
(:func:`pokeviz.plots.rewards.reward_data`, :func:`pokeviz.plots.heatmap.heatmap_data`)
and their Plotly twins in :mod:`pokeviz.plots.interactive`, so the page shows the same
numbers as the PNG figures. Nothing here writes anything.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..api import RunView
from ..discover import LOG_NAME, file_seconds
from ..kanto import MapTable
from ..plots.page import plain
from . import alerts

#: Columns of ``samples`` that are bookkeeping, not a quantity to plot over time.
_NOT_METRICS = {"file", "entry_index", "sample_key", "global_step", "total_steps"}
_NUMERIC = ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "SMALLINT", "TINYINT",
            "UBIGINT", "DECIMAL", "REAL")


def iso_time(seconds: float | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC time (``2026-01-01T00:00:00Z``), None for None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _title(view: RunView) -> str:
    return f"{view.run.variant} / {view.run.timestamp}"


def clock(view: RunView) -> dict[str, list[int]]:
    """Wall-clock anchors: each file's last global step and the unix seconds in its name.

    The page maps any global step to a time by linear interpolation between them (the
    number in ``stats_<seconds>.json`` is when the file was written). Files without a
    number in their name or without entries are left out.
    """
    steps, seconds = [], []
    for name, last in view.con.execute(
        "SELECT file, last_global_step FROM files WHERE entries > 0 ORDER BY file_order"
    ).fetchall():
        when = file_seconds(name)
        if when is not None and last is not None:
            steps.append(int(last))
            seconds.append(int(when))
    return {"steps": steps, "seconds": seconds}


# ---------------------------------------------------------------------------
# The run list


def run_facts(view: RunView) -> dict[str, Any]:
    """What the run list shows of a run, except the time-dependent stalled alert.

    Returns:
        ``files``, ``entries``, ``first_global_step``, ``last_global_step``,
        ``statuses``, ``problems`` (files whose status is not ``ok``: file, status,
        error), ``updated`` (ISO time the newest log file was written), ``plateau``
        (an alert or None), and what :func:`run_alerts` needs (``write_times``,
        ``finished``). Cost: one pass over ``files``, ``file_stats`` rows of
        ``reward_total`` and ``tiles``.
    """
    report = view.report
    con = view.con
    files = con.execute(
        "SELECT file, status, error, mtime_ns, entries, first_global_step, last_global_step "
        "FROM files ORDER BY file_order"
    ).fetchall()
    write_times = [r[3] / 1e9 for r in files if r[3] is not None]
    with_entries = [r for r in files if r[4]]
    means = dict(con.execute(
        "SELECT file, mean FROM file_stats WHERE metric = 'reward_total'").fetchall())
    tile_steps = con.execute("SELECT first_global_step FROM tiles").fetchnumpy()
    plateau = alerts.plateaued(
        [r[5] for r in with_entries],
        [r[6] for r in with_entries],
        [np.nan if means.get(r[0]) is None else means[r[0]] for r in with_entries],
        np.ma.getdata(tile_steps["first_global_step"]),
    )
    return {
        "files": report.files,
        "entries": report.entries,
        "first_global_step": report.first_global_step,
        "last_global_step": report.last_global_step,
        "statuses": dict(sorted(report.statuses.items())),
        "problems": [{"file": r[0], "status": r[1], "error": r[2]}
                     for r in files if r[1] != "ok"],
        "updated": iso_time(max(write_times)) if write_times else None,
        "write_times": write_times,
        "finished": any(r[0].startswith("stats_final_") for r in files),
        "plateau": plateau.to_json() if plateau else None,
    }


def run_alerts(facts: dict[str, Any], *, now: float, stall_minutes: float) -> list[dict]:
    """The alerts of a run from its :func:`run_facts`: stalled (at ``now``), plateaued."""
    found = []
    stall = alerts.stalled(facts["write_times"], now=now, stall_minutes=stall_minutes,
                           finished=facts["finished"])
    if stall is not None:
        found.append(stall.to_json())
    if facts["plateau"] is not None:
        found.append(facts["plateau"])
    return found


# ---------------------------------------------------------------------------
# Figures


def _annotate_reward_traces(figure: dict[str, Any], metrics: list[str]) -> None:
    """Name each trace's metric and layer in its ``meta`` (the page's smoothing slider
    re-smooths the ``smoothed`` layer of each metric from that metric's samples)."""
    for trace in figure["data"]:
        ref = trace.get("xaxis", "x")
        axis = int(ref[1:] or 1)
        trace["meta"] = {"metric": metrics[axis - 1], "layer": trace.get("legendgroup")}


def rewards(view: RunView, *, smooth_window: int = 50) -> dict[str, Any]:
    """The reward chart: the Plotly figure of :func:`pokeviz.plots.interactive.reward_traces`
    plus, per metric, the reservoir samples the page smooths with its slider.

    Returns:
        ``{"figure", "samples": {metric: {"x", "y", "window", "rollout_x",
        "rollout_y"}}, "clock", "title", "sampling"}``: ``x``/``y`` are the samples by
        step (the dots), ``rollout_x``/``rollout_y`` the same samples in the order the
        rolling mean takes them (:func:`pokeviz.plots.rewards.rollout_order`).
        Deterministic.
    """
    from ..plots.interactive import reward_traces
    from ..plots.rewards import reward_data

    data = reward_data(view.con, smooth_window=smooth_window)
    figure = reward_traces(data, title=_title(view))
    metrics = list(data.series)
    if metrics:
        _annotate_reward_traces(figure, metrics)
    return plain({
        "title": _title(view),
        "sampling": data.sampling_line,
        "figure": figure,
        "samples": {m: {"x": s.sample_step, "y": s.sample_value, "window": s.window,
                        "rollout_x": s.rollout_step, "rollout_y": s.rollout_value}
                    for m, s in data.series.items()},
        "clock": clock(view),
    })


def heatmap(view: RunView, table: MapTable | None) -> dict[str, Any]:
    """The Kanto heatmap (:func:`pokeviz.plots.interactive.heatmap_traces`) and its totals.

    Returns:
        ``{"figure", "total_visits", "unique_tiles", "unplaced_visits", "map_table"}``.
    """
    from ..plots.heatmap import heatmap_data
    from ..plots.interactive import heatmap_traces

    data = heatmap_data(view.con, table)
    return plain({
        "figure": heatmap_traces(data, title=_title(view)),
        "total_visits": data.total_visits,
        "unique_tiles": data.unique_tiles,
        "unplaced_visits": data.unplaced_visits,
        "map_table": str(data.table_path) if data.table_path else None,
    })


def tiles(view: RunView, table: MapTable | None) -> dict[str, Any]:
    """Exact visits per tile, column-wise: ``map``, ``x``, ``y``, ``visits``,
    ``first_global_step`` and, with a map table, ``global_x``/``global_y`` (None for maps
    the table lacks). Every visit of every entry (the ``tiles`` view)."""
    rows = view.con.execute(
        "SELECT map, x, y, visits, first_global_step FROM tiles ORDER BY map, x, y"
    ).fetchnumpy()
    out = {c: np.asarray(np.ma.getdata(rows[c]), dtype=np.int64) for c in rows}
    result: dict[str, Any] = dict(out)
    if table is not None:
        gx, gy, placed = table.to_global(out["map"], out["x"], out["y"])
        result["global_x"] = [int(v) if p else None for v, p in zip(gx, placed, strict=True)]
        result["global_y"] = [int(v) if p else None for v, p in zip(gy, placed, strict=True)]
    return plain(result)


def latest_positions(view: RunView, table: MapTable | None) -> dict[str, Any]:
    """Where the agents are now: the newest log file with entries.

    Returns:
        ``{"file", "first_global_step", "last_global_step", "entries", "samples":
        {global_step, map, x, y, global_x, global_y}, "new_tiles": {map, x, y,
        first_global_step, global_x, global_y}, "map_table"}``: the file's samples (up to
        100 entries spread evenly over it: every env's block, so every agent) and the
        tiles first visited during that file (exact). ``file`` is None without entries.
    """
    row = view.con.execute(
        "SELECT file, first_global_step, last_global_step, entries FROM files "
        "WHERE entries > 0 ORDER BY file_order DESC LIMIT 1"
    ).fetchone()
    out: dict[str, Any] = {"file": None, "map_table": table is not None}
    if row is None:
        return out
    file, first, last, entries = row
    samples = view.con.execute(
        "SELECT global_step, map, x, y FROM samples WHERE file = ? AND map IS NOT NULL "
        "ORDER BY entry_index", [file]).fetchall()
    new = view.con.execute(
        "SELECT map, x, y, first_global_step FROM tiles WHERE first_global_step BETWEEN ? "
        "AND ? ORDER BY first_global_step, map, x, y", [first, last]).fetchall()

    def placed(rows: list[tuple], columns: tuple[str, ...], m: int) -> dict[str, list]:
        cols = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        if table is not None and rows:
            gx, gy, ok = table.to_global(np.array([r[m] for r in rows]),
                                         np.array([r[m + 1] for r in rows]),
                                         np.array([r[m + 2] for r in rows]))
            cols["global_x"] = [int(v) if p else None for v, p in zip(gx, ok, strict=True)]
            cols["global_y"] = [int(v) if p else None for v, p in zip(gy, ok, strict=True)]
        return cols

    out.update({
        "file": file, "first_global_step": first, "last_global_step": last,
        "entries": entries,
        "samples": placed(samples, ("global_step", "map", "x", "y"), 1),
        "new_tiles": placed(new, ("map", "x", "y", "first_global_step"), 0),
        "map_names": {str(m): r.name for m, r in table.maps.items()} if table else {},
        "regions": _regions(table, {r[1] for r in samples} | {r[0] for r in new}),
    })
    return plain(out)


def _regions(table: MapTable | None, maps: set[int]) -> list[dict[str, Any]]:
    """Outlines of the given maps on the global map (those the table knows)."""
    if table is None:
        return []
    return [{"map": m, "name": table.maps[m].name, "x0": table.maps[m].gx0,
             "y0": table.maps[m].gy0, "width": table.maps[m].width,
             "height": table.maps[m].height} for m in sorted(maps) if m in table.maps]


FILE_COLUMNS = ("file", "file_order", "status", "format", "entries", "bad_values",
                "skipped_entries", "first_global_step", "last_global_step", "size_bytes",
                "mtime_ns", "error", "warning", "parser")


def files_table(view: RunView) -> dict[str, Any]:
    """The ``files`` view as ``{"columns", "rows"}`` plus ``seconds`` (the unix time in
    each file name, None without one), in file order."""
    rows = view.con.execute(
        f"SELECT {', '.join(FILE_COLUMNS)} FROM files ORDER BY file_order").fetchall()
    columns = [*FILE_COLUMNS, "seconds"]
    return plain({"columns": columns,
                  "rows": [[*r, file_seconds(r[0]) if LOG_NAME.match(r[0]) else None]
                           for r in rows]})


def columns(view: RunView) -> list[dict[str, Any]]:
    """Every numeric column that can be drawn over time.

    Returns:
        ``[{"name", "exact"}]``: the numeric columns of ``samples`` (health, levels_sum,
        badges, deaths, map_progress, pokemon_count, exploration_coords, every reward
        component, extras such as ``reward_op_lvl``) with ``exact`` true when
        ``file_stats`` has exact per-file statistics of it.
    """
    described = view.con.execute("DESCRIBE samples").fetchall()
    exact = {r[0] for r in view.con.execute("SELECT DISTINCT metric FROM file_stats")
             .fetchall()}
    return [{"name": name, "exact": name in exact} for name, kind, *_ in described
            if name not in _NOT_METRICS and kind.upper().startswith(_NUMERIC)]


def metric(view: RunView, column: str) -> dict[str, Any] | None:
    """One numeric column over global steps, or None when the run has no such column.

    Returns:
        ``{"column", "exact": {"x", "first", "last", "mean", "std", "min", "max", "n"}``
        (per file, at the file's middle step; None when ``file_stats`` lacks it),
        ``"samples": {"x", "y"}`` (the reservoir), ``"clock"}``.
    """
    known = {c["name"] for c in columns(view)}
    if column not in known:
        return None
    quoted = '"' + column.replace('"', '""') + '"'
    stats = view.con.execute(
        "SELECT first_global_step, last_global_step, mean, std, min, max, n FROM file_stats "
        "WHERE metric = ? AND first_global_step IS NOT NULL ORDER BY first_global_step",
        [column]).fetchall()
    exact = None
    if stats:
        first, last, mean, std, lo, hi, n = (list(c) for c in zip(*stats, strict=True))
        exact = {"x": [(a + b) / 2 for a, b in zip(first, last, strict=True)],
                 "first": first, "last": last, "mean": mean, "std": std, "min": lo,
                 "max": hi, "n": n}
    samples = view.con.execute(
        f"SELECT global_step, {quoted} FROM reservoir WHERE {quoted} IS NOT NULL "
        "ORDER BY global_step, file, entry_index").fetchall()
    return plain({"column": column, "exact": exact,
                  "samples": {"x": [r[0] for r in samples], "y": [r[1] for r in samples]},
                  "clock": clock(view)})
