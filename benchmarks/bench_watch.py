"""``pokeviz watch`` benchmark row: one status line on a warm 520-file cache.

Plugin for ``benchmarks/run.py``: :func:`measure` returns rows
``{"route", "seconds", "rss_mb", "target_ratio", "note"}``; ``seconds`` is the median
over ``repeat`` and ``target_ratio`` the target as a ratio to the one-pass DuckDB peer.
The status line is timed inside this process, the way the long-running watcher makes
it after every update (``RunWatcher.status_line``: the manifest's running totals, no
DuckDB, no sidecar read); interpreter start-up is not part of it.

Usage alone: ``python benchmarks/bench_watch.py RUN [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

#: The harness hands this plugin the 520-file data set (the status line's target is
#: about many files; its ratio is to that data set's DuckDB peer).
RUN = "520"
ROUTE = "watch status line (520 files)"
TARGET_RATIO = 0.02


def measure(run: Path, experiments: Path, pokeviz: list[str], repeat: int) -> list[dict]:
    """Time one watch status line on ``run`` (its cache brought up to date first).

    Args:
        run: the run to measure (the bench's 520-file run).
        experiments: the bench's experiments folder (unused: one run is enough).
        pokeviz: the command that runs pokeviz (unused: timed in this process).
        repeat: status lines timed; the median is reported.

    Returns:
        One row (see the module docstring).
    """
    from pokeviz.api import update_run
    from pokeviz.cache import CacheUpdate
    from pokeviz.discover import Run
    from pokeviz.watch import RunWatcher

    watched = Run(Path(run).resolve())
    update_run(watched)  # warm: the watcher has caught up before it prints status lines
    watcher = RunWatcher(watched, render=lambda r: None, on_status=lambda line: None)
    update = CacheUpdate(ingested=["stats_0.json"])
    times = []
    line = ""
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        line = watcher.status_line(update)
        times.append(time.perf_counter() - started)
    files = len(watcher.cached)
    return [{
        "route": ROUTE,
        "seconds": statistics.median(times),
        "rss_mb": None,
        "target_ratio": TARGET_RATIO,
        "note": f"{files} files in the cache; median of {len(times)} lines; {line[10:60]}…",
    }]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for row in measure(args.run, args.run.parent.parent, ["pokeviz"], args.repeat):
        print(f"{row['route']}: {row['seconds'] * 1000:.1f} ms  ({row['note']})")


if __name__ == "__main__":
    main()
