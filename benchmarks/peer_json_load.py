"""Peer route 1: the researcher's script, written the way it is done without pokeviz.

For every ``stats_*.json`` of a run, in file order: ``json.load`` the whole file,
flatten each entry (nested or flat generation) into one dict of the fields the plots
use, count visits per (map, x, y), keep a 10,000-entry reservoir sample, then plot the
reward curve of the sample and a visit heatmap on the Kanto grid. One file is held in
memory at a time (nothing is kept of it but the counts and the sample), so this is the
honest, careful version of the script, not a strawman.

Prints one JSON line ``{"entries", "visits", "tiles", "reservoir"}`` so the harness can
check that the same work was done; writes ``rewards.png`` and ``heatmap.png`` to
``--out`` (default: a temporary folder).

Usage: ``python benchmarks/peer_json_load.py RUN_DIR [--map-table map_data.json]``
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COMPONENTS = ("event", "level", "heal", "badge", "explore", "dead", "stuck")


def flatten(entry: dict) -> dict:
    """One entry of any generation → flat dict (missing values are None)."""
    if "position" in entry:
        position = entry.get("position") or {}
        rewards = entry.get("rewards") or {}
        components = rewards.get("components") or {}
        row = {
            "step": entry.get("step"),
            "total_steps": entry.get("total_steps"),
            "map": position.get("map"),
            "x": position.get("x"),
            "y": position.get("y"),
            "reward_total": rewards.get("total"),
        }
        row.update({f"reward_{c}": components.get(c) for c in COMPONENTS})
        return row
    components = entry.get("reward_components") or {}
    row = {k: entry.get(k) for k in ("step", "map", "x", "y", "reward_total")}
    row["total_steps"] = None
    row.update({f"reward_{c}": components.get(c, entry.get(f"reward_{c}")) for c in COMPONENTS})
    return row


def file_number(path: Path) -> tuple[int, str]:
    match = re.search(r"(\d+)", path.stem)
    return (int(match.group(1)) if match else 0, path.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--map-table", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--reservoir", type=int, default=10_000)
    args = parser.parse_args()

    files = sorted((args.run / "json_logs").glob("stats_*.json"), key=file_number)
    visits: Counter[tuple[int, int, int]] = Counter()
    rng = random.Random(0)
    reservoir: list[dict] = []
    seen = 0
    for path in files:
        with open(path) as handle:
            entries = json.load(handle)  # Python's json accepts NaN / Infinity
        step_base = seen
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            row = flatten(entry)
            row["global_step"] = step_base + i
            if row["map"] is not None and row["x"] is not None and row["y"] is not None:
                visits[(row["map"], row["x"], row["y"])] += 1
            seen += 1
            if len(reservoir) < args.reservoir:  # Algorithm R
                reservoir.append(row)
            else:
                j = rng.randrange(seen)
                if j < args.reservoir:
                    reservoir[j] = row
        del entries

    out = args.out or Path(tempfile.mkdtemp(prefix="peer_json_load_"))
    out.mkdir(parents=True, exist_ok=True)
    reservoir.sort(key=lambda r: r["global_step"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = [r["global_step"] for r in reservoir]
    for name in ("reward_total", *(f"reward_{c}" for c in COMPONENTS)):
        values = [np.nan if r[name] is None else r[name] for r in reservoir]
        ax.plot(steps, values, lw=0.6, label=name)
    ax.set_xlabel("global step")
    ax.set_ylabel("episode reward so far")
    ax.legend(fontsize=6)
    fig.savefig(out / "rewards.png", dpi=150)
    plt.close(fig)

    offsets: dict[int, tuple[int, int]] = {}
    if args.map_table and args.map_table.exists():
        for region in json.loads(args.map_table.read_text())["regions"]:
            offsets[int(region["id"])] = tuple(region["coordinates"])
    grid = np.zeros((444, 436))
    for (m, x, y), count in visits.items():
        gx0, gy0 = offsets.get(m, (0, 0))
        if 0 <= y + gy0 < 444 and 0 <= x + gx0 < 436:
            grid[y + gy0, x + gx0] += count
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(np.log1p(grid), cmap="magma")
    fig.savefig(out / "heatmap.png", dpi=150)
    plt.close(fig)
    print(
        json.dumps(
            {
                "entries": seen,
                "visits": sum(visits.values()),
                "tiles": len(visits),
                "reservoir": len(reservoir),
            }
        )
    )


if __name__ == "__main__":
    main()
