"""benchmarks/run.py --quick: the harness behind `make bench` runs end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"

ROWS = (
    "pokeviz ingest, cold (cache deleted)",
    "pokeviz plot, warm (nothing changed)",
    "pokeviz plot, incremental (+1 file)",
    "peer: json.load script (peer_json_load.py)",
    "peer: DuckDB read_json, 2 threads (peer_duckdb.py)",
    "pokeviz ingest, cold, 4x files (16)",
)


def test_quick_benchmark_prints_every_row(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(HARNESS), "--quick", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("route "))
    table = lines[header + 2 :]
    for name in ROWS:
        row = next((line for line in table if line.startswith(name)), None)
        assert row is not None, f"missing row {name!r} in:\n{result.stdout}"
        # A measured row shows a wall time and both memory figures; the plot rows may
        # instead say that `pokeviz plot` is not there yet.
        assert (" s " in row and row.count(" MB") >= 2) or "n/a (plot not available)" in row
    for target in ("≤ 0.70x DuckDB", "≥ 10x faster than json.load", "peak RSS ≤ 300 MB",
                   "flat: peak within 10% of the 4-file run"):
        assert target in result.stdout
    assert "work check: every ingest and peer run reported 4,096 entries" in result.stdout
    # The data set is generated once and reused while it is complete.
    assert (tmp_path / "base" / ".bench-complete").exists()
    assert len(list((tmp_path / "base" / "spare").glob("stats_*.json"))) == 1
