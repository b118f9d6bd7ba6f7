"""benchmarks/run.py --quick: the harness behind `make bench` runs end to end, plugins too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
HARNESS = BENCH / "run.py"

ROWS_40 = (
    "peer: DuckDB read_json, 2 threads, one pass",
    "pokeviz ingest, cold (cache deleted)",
    "pokeviz ingest --scheduler local:2, cold",
    "pokeviz plot, warm, with map_data.json",
    "pokeviz plot, warm, no map table (per-map panels)",
    "peak RSS of any pokeviz process (routes above)",
    "pokeviz plot --redraw, warm (both images drawn)",
)
ROWS_520 = (
    "peer: DuckDB read_json, 2 threads, one pass",
    "pokeviz ingest, cold (cache deleted)",
    "pokeviz plot, warm, with map_data.json",
    'pokeviz sql RUN "select count(*) from files", warm',
    "pokeviz ingest of 1 new file",
    "peak RSS of any pokeviz process (routes above)",
)

GOOD_PLUGIN = '''
RUN = "520"

def measure(run, experiments, pokeviz, repeat):
    files = len(list((run / "json_logs").glob("stats_*.json")))
    table = (experiments / "map_data.json").is_file()
    return [{"route": "fake status line", "seconds": 0.001, "rss_mb": 12.0,
             "target_ratio": 0.02, "target_rss_mb": 300, "note": f"{files} files {table}"},
            {"route": "fake size row", "seconds": None, "rss_mb": None, "target_ratio": None,
             "target_rss_mb": None, "note": "own verdict", "ok": False}]
'''
RAISING_PLUGIN = '''
def measure(run, experiments, pokeviz, repeat):
    raise RuntimeError("the server did not start")
'''
BAD_ROWS_PLUGIN = '''
def measure(run, experiments, pokeviz, repeat):
    return [{"route": "no seconds key"}]
'''
EXITING_PLUGIN = "import sys\nsys.exit(3)\n"


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One --quick run with four fake plugins; (its stdout, its data folder)."""
    tmp = tmp_path_factory.mktemp("bench")
    plugins = tmp / "plugins"
    plugins.mkdir()
    for name, text in (("bench_good", GOOD_PLUGIN), ("bench_raises", RAISING_PLUGIN),
                       ("bench_bad_rows", BAD_ROWS_PLUGIN), ("bench_exits", EXITING_PLUGIN),
                       ("not_a_plugin", RAISING_PLUGIN)):
        (plugins / f"{name}.py").write_text(text)
    data = tmp / "data"
    result = subprocess.run(
        [sys.executable, str(HARNESS), "--quick", "--data-dir", str(data), "--plugins-dir",
         str(plugins)],
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, data


def table_rows(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("run "))
    end = lines.index("", header)
    return lines[header + 2 : end]


def row(stdout: str, run: str, route: str) -> str:
    found = [line for line in table_rows(stdout) if line.startswith(run)
             and f"  {route}" in line]
    assert len(found) == 1, f"{run} / {route!r} not exactly once in:\n{stdout}"
    return found[0]


def test_every_core_row_is_measured_and_checked(quick: tuple[str, Path]) -> None:
    stdout, _ = quick
    for run, routes in (("4 files", ROWS_40), ("12 files", ROWS_520)):
        for route in routes:
            line = row(stdout, run, route)
            assert "failed" not in line and "work check failed" not in line, line
            if not route.startswith("peak RSS"):
                assert " s " in line and line.count(" MB") >= 2, line
    assert "4,096 entries" in row(stdout, "4 files", ROWS_40[0])
    assert "1,536 entries" in row(stdout, "12 files", ROWS_520[0])
    for run, routes in (("4 files", ROWS_40), ("12 files", ROWS_520)):
        for route in routes[1:]:
            line = row(stdout, run, route)
            assert ("≤ " in line) != ("local:2" in route), line  # a target, but not Dask's
    assert "tables equal: yes" in row(stdout, "4 files", ROWS_40[2])
    assert "checked: no map table was found; both images kept" in row(stdout, "4 files",
                                                                       ROWS_40[4])
    assert "checked: the map table was used; both images kept" in row(stdout, "12 files",
                                                                      ROWS_520[2])
    for run in ("4 files", "12 files"):
        assert "checked: both images drawn and written" in row(stdout, run, ROWS_40[6])
    assert "checked: exactly 1 new file read" in row(stdout, "12 files", ROWS_520[4])
    assert "flat in files:" in row(stdout, "12 files", ROWS_520[5])


def _wall(line: str) -> tuple[float, float]:
    """A row's wall time in seconds and half of its printed unit (0.01 s or 0.1 ms)."""
    value, unit = re.search(r" (\d+\.\d+) (s|ms) ", line).groups()
    return (float(value), 0.005) if unit == "s" else (float(value) / 1000, 0.00005)


def test_ratios_are_to_the_peer_of_the_same_invocation(quick: tuple[str, Path]) -> None:
    stdout, _ = quick
    for run in ("4 files", "12 files"):
        peer = row(stdout, run, ROWS_40[0])
        assert "1.000x" in peer
        seconds, peer_half = _wall(peer)
        cold = row(stdout, run, ROWS_40[1])
        wall, wall_half = _wall(cold)
        ratio = float(re.search(r" (\d+\.\d+)x ", cold).group(1))
        # Both times are printed rounded: allow that rounding, and the ratio's own.
        error = (wall / seconds) * (wall_half / wall + peer_half / seconds)
        assert ratio == pytest.approx(wall / seconds, abs=error + 0.001)


def test_plugin_rows_and_failing_plugins(quick: tuple[str, Path]) -> None:
    stdout, _ = quick
    good = row(stdout, "12 files", "fake status line")  # RUN = "520": the 12-file set
    assert "≤ 0.02x, ≤ 300 MB" in good and "12 files True" in good
    assert " PASS " in good  # 0.001 s is far below 0.02x of any peer
    assert "FAIL" in row(stdout, "12 files", "fake size row")
    raised = row(stdout, "4 files", "bench_raises: plugin failed")
    assert "FAIL" in raised and "RuntimeError: the server did not start" in raised
    bad = row(stdout, "4 files", "bench_bad_rows: plugin failed")
    assert "missing ['seconds'" in bad
    exited = row(stdout, "4 files", "bench_exits: plugin failed")
    assert "SystemExit: 3" in exited
    assert "not_a_plugin" not in stdout
    assert stdout.rstrip().splitlines()[-1].count("PASS") == 1  # the verdict count line


def test_data_is_generated_once_and_kept_complete(quick: tuple[str, Path]) -> None:
    _, data = quick
    stamp = json.loads((data / "run520" / ".bench-complete").read_text())
    assert stamp["spec"]["files"] == 12 and stamp["spec"]["map_scale"] == 2.2
    assert len(list((data / "run520" / "spare").glob("stats_*.json"))) == 1
    assert len(list((data / "run520").glob("v4/*/json_logs/stats_*.json"))) == 12
    assert (data / "run40" / "map_data.json").is_file()  # put back after the no-table route
    assert not (data / "run40" / ".map_data.json.aside").exists()


def test_check_rows_contract() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from harness_plugins import check_rows
    finally:
        sys.path.remove(str(BENCH))
    ok = {"route": "r", "seconds": 1, "rss_mb": None, "target_ratio": 0.5,
          "target_rss_mb": None, "note": ""}
    assert check_rows([dict(ok), {**ok, "ok": True}]) == [{**ok, "ok": None}, {**ok, "ok": True}]
    short = {k: v for k, v in ok.items() if k not in ("rss_mb", "target_rss_mb")}
    assert check_rows([short]) == [{**ok, "ok": None}]
    for bad in ({**ok, "seconds": "1"}, {**ok, "seconds": float("nan")}, {**ok, "extra": 1},
                {**ok, "ok": "yes"}, {**ok, "seconds": True},
                {k: v for k, v in ok.items() if k != "note"}):
        with pytest.raises(ValueError):
            check_rows([bad])
    with pytest.raises(ValueError):
        check_rows(ok)


def test_the_watch_plugin_measures_the_520_file_run(quick: tuple[str, Path]) -> None:
    _, data = quick
    sys.path.insert(0, str(BENCH))
    try:
        from harness_plugins import run_plugin
    finally:
        sys.path.remove(str(BENCH))
    runs = {name: (next((data / f"run{name}").glob("v4/*")), data / f"run{name}")
            for name in ("40", "520")}
    before = sorted(p.name for p in data.iterdir())
    name, rows = run_plugin(BENCH / "bench_watch.py", runs, [sys.executable, "-m", "pokeviz"],
                            2, 600)
    assert name == "520", rows
    assert isinstance(rows, list) and len(rows) == 1, rows
    assert rows[0]["route"] == "watch status line (520 files)"
    assert rows[0]["note"].startswith("12 files in the cache; median of 2 lines"), rows
    assert rows[0]["seconds"] > 0 and rows[0]["target_ratio"] == 0.02
    assert sorted(p.name for p in data.iterdir()) == before  # nothing written beside
