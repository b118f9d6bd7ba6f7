"""``make bench``: pokeviz against one-pass DuckDB on the same files, as ONE table.

Generates (once; reused while complete) two synthetic runs that look like users' runs
(see ``harness_data``): 40 files (~1.2 GB) and 520 files (~1.9 GB). Then, as separate
processes, K times each (median wall time), it measures:

* on each run, the peer: DuckDB ``read_json`` over all files into a table, 2 threads;
* 40 files: cold ingest (≤ 1.0x the peer), Dask ``--scheduler local:2`` ingest (tables
  equal to the local ingest's), warm ``pokeviz plot`` with a map table and without one
  (each ≤ 0.4x);
* 520 files: cold ingest (≤ 1.2x), warm plot (≤ 0.3x), warm ``pokeviz sql RUN "select
  count(*) from files"`` (≤ 0.1x), ingest of 1 new file (≤ 0.15x);
* peak RSS of any pokeviz process ≤ 300 MB, flat in files;
* the rows of every plugin ``benchmarks/bench_*.py`` (contract in ``README.md``).

Every row is a ratio to the peer measured in the same invocation, with its target and
PASS/FAIL. The table is printed and written to ``benchmarks/results/latest.txt``.

Usage: ``python benchmarks/run.py [--quick] [--repeat K] [--data-dir DIR]
[--plugins-dir DIR] [--scheduler local:2]``. ``--quick`` uses tiny data and K = 1 (for
the test suite; its ratios mean nothing at that size).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness_data import FULL, QUICK, DataSet, ensure_data, warm_page_cache
from harness_plugins import find_plugins, plugin_rows
from harness_routes import (
    Context,
    ingest_and_cluster,
    memory_rows,
    sql_and_one_file,
    warm_plots,
)
from harness_table import Row, report

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
#: A plugin that has not answered after this long is killed and reported as a FAIL row.
PLUGIN_TIMEOUT_SECONDS = {"quick": 600.0, "full": 3600.0}


def pokeviz_command() -> list[str]:
    """The ``pokeviz`` console script of this interpreter's environment."""
    script = Path(PYTHON).with_name("pokeviz")
    if script.exists():
        return [str(script)]
    return [PYTHON, "-m", "pokeviz"]


def data_lines(sets: dict[str, DataSet], rows: list[Row]) -> list[str]:
    """What the data sets are (files, entries, size, maps and tiles the peer counted)."""
    lines = []
    for data in sets.values():
        peer = next((r for r in rows if r.run == data.label and r.route.startswith("peer")),
                    None)  # fmt: skip
        seen = f"; peer: {peer.note}" if peer and peer.note else ""
        lines.append(f"data {data.name:>3}: {data.describe()}{seen}")
    lines.append("all log files are read once before timing, so every route reads them from "
                 "the page cache")  # fmt: skip
    return lines


def run_benchmark(args: argparse.Namespace) -> str:
    """Measure everything and return the printout."""
    mode = "quick" if args.quick else "full"
    specs = QUICK if args.quick else FULL
    data_dir = args.data_dir or HERE / "data" / mode
    pokeviz = pokeviz_command()
    sets = {name: ensure_data(name, data_dir / f"run{name}", spec, pokeviz)
            for name, spec in specs.items()}  # fmt: skip
    for data in sets.values():
        warm_page_cache(data)
    ctx = Context(pokeviz, args.repeat)

    small, large = sets["40"], sets["520"]
    rows40 = ingest_and_cluster(ctx, small, args.scheduler)
    duck40 = rows40[0].seconds
    rows40 += warm_plots(ctx, small, duck40, with_and_without=True, target=0.4)
    rows520 = ingest_and_cluster(ctx, large, None)
    duck520 = rows520[0].seconds
    rows520 += warm_plots(ctx, large, duck520, with_and_without=False, target=0.3)
    rows520 += sql_and_one_file(ctx, large, duck520)
    rows = rows40 + rows520 + memory_rows({small.label: rows40, large.label: rows520})

    datasets = {name: (data.run, data.root, data.label, rows_of[0].seconds)
                for (name, data), rows_of in zip(sets.items(), (rows40, rows520),
                                                 strict=True)}  # fmt: skip
    for plugin in find_plugins(args.plugins_dir or HERE):
        print(f"plugin {plugin.name} ...", flush=True)
        rows += plugin_rows(plugin, datasets, pokeviz, args.repeat,
                            PLUGIN_TIMEOUT_SECONDS[mode])  # fmt: skip
    header = data_lines(sets, rows) + [f"K = {args.repeat} runs per route"]
    return report(rows, header, args.quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pokeviz benchmark (make bench)")
    parser.add_argument("--quick", action="store_true", help="tiny data set, K = 1")
    parser.add_argument("--repeat", type=int, help="runs per route (default 3; 1 quick)")
    parser.add_argument("--data-dir", type=Path, help="where the data sets are kept")
    parser.add_argument("--plugins-dir", type=Path,
                        help="where bench_*.py plugins are looked for (default: benchmarks/)")
    parser.add_argument("--scheduler", default="local:2",
                        help="Dask scheduler of the distributed-ingest row (default local:2)")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (1 if args.quick else 3)
    table = run_benchmark(args)
    print(table)
    if not args.quick and args.data_dir is None:
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        (results / "latest.txt").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
