"""Peer route 2: DuckDB reads every JSON log file directly (no pokeviz involved).

What a DuckDB user would write: ``read_json`` over the run's ``stats_*.json`` with
explicit columns (only the fields needed, so DuckDB skips the rest), 2 threads, then
visits per (map, x, y) and a 10,000-row reservoir sample. Every entry is read and
counted; the script prints one JSON line ``{"entries", "visits", "tiles",
"reservoir"}`` so the harness can check that the work was done.

Usage: ``python benchmarks/peer_duckdb.py RUN_DIR [--threads 2]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

COLUMNS = {
    "step": "BIGINT",
    "total_steps": "BIGINT",
    "position": "STRUCT(x BIGINT, y BIGINT, map BIGINT)",
    "rewards": "STRUCT(total DOUBLE, step DOUBLE, components STRUCT("
    "event DOUBLE, level DOUBLE, heal DOUBLE, badge DOUBLE, explore DOUBLE, "
    "dead DOUBLE, stuck DOUBLE))",
    "player_status": "STRUCT(health DOUBLE, levels_sum BIGINT, badges BIGINT, "
    "pokemon_count BIGINT)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reservoir", type=int, default=10_000)
    args = parser.parse_args()

    files = sorted(str(p) for p in (args.run / "json_logs").glob("stats_*.json"))
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {args.threads}")
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    # One pass over the JSON: the flattened rows (a few hundred bytes per entry) are
    # kept in DuckDB's memory, then both answers are computed from them.
    con.execute(
        f"""
        CREATE TABLE entries AS
        SELECT step AS episode_step, total_steps,
               position.map AS map, position.x AS x, position.y AS y,
               rewards.total AS reward_total, rewards.step AS reward_step,
               rewards.components.event AS reward_event,
               rewards.components.level AS reward_level,
               rewards.components.heal AS reward_heal,
               rewards.components.badge AS reward_badge,
               rewards.components.explore AS reward_explore,
               rewards.components.dead AS reward_dead,
               rewards.components.stuck AS reward_stuck,
               player_status.health AS health
        FROM read_json({listing}, format = 'array', columns = {columns})
        """
    )
    entries = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    tiles, visits = con.execute(
        """
        SELECT count(*), sum(visits) FROM (
            SELECT map, x, y, count(*) AS visits FROM entries
            WHERE map IS NOT NULL AND x IS NOT NULL AND y IS NOT NULL
            GROUP BY map, x, y)
        """
    ).fetchone()
    reservoir = con.execute(
        f"SELECT * FROM entries USING SAMPLE reservoir({int(args.reservoir)} ROWS) "
        "REPEATABLE (0)"
    ).fetchall()
    print(
        json.dumps(
            {"entries": entries, "visits": int(visits), "tiles": tiles, "reservoir": len(reservoir)}
        )
    )


if __name__ == "__main__":
    main()
