"""The CLI at the level a user acts: real runs, exact output, exact errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import pokeviz
from pokeviz.cli import main
from pokeviz.synth import synth_run

from .conftest import nested_entries


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "experiments"
    synth_run(root, variant="v2", timestamp="20250101_000000", files=2, envs=2, steps_per_env=40)
    return synth_run(root, variant="v2", timestamp="20250102_000000", files=3, envs=2,
                     steps_per_env=50, seed=1).run_dir


def test_every_command_has_help_with_an_example() -> None:
    assert main.commands
    for name, command in main.commands.items():
        result = invoke(name, "--help")
        assert result.exit_code == 0, name
        assert command.get_short_help_str().strip(), f"{name} has no summary"
        assert "Example" in result.output, f"{name} help has no example"


def test_ingest_prints_the_summary(run_dir: Path) -> None:
    result = invoke("ingest", run_dir, "--jobs", "2")
    assert result.exit_code == 0
    assert "3 new, 0 re-read, 0 unchanged" in result.output
    assert "entries  250;" in result.output and "global 1 … 250" in result.output
    again = invoke("ingest", run_dir)
    assert "0 new, 0 re-read, 3 unchanged" in again.output


def test_variant_and_variant_dir_pick_the_latest_run(run_dir: Path) -> None:
    experiments = run_dir.parent.parent
    by_variant = invoke("ingest", "--variant", "v2", "--experiments-dir", experiments)
    by_folder = invoke("ingest", run_dir.parent)
    for result in (by_variant, by_folder):
        assert result.exit_code == 0
        assert "v2/20250102_000000" in result.output
    query = invoke("sql", "--variant", "v2", "--experiments-dir", experiments,
                   "SELECT sum(entries) FROM files", "--format", "csv")
    assert query.output.splitlines() == ["sum(entries)", "250"]


def test_sql_formats(run_dir: Path) -> None:
    query = "SELECT file, entries FROM files ORDER BY file_order"
    as_csv = invoke("sql", run_dir, query, "--format", "csv")
    rows = list(csv.reader(io.StringIO(as_csv.output)))
    assert rows[0] == ["file", "entries"] and [r[1] for r in rows[1:]] == ["100", "100", "50"]
    as_json = json.loads(invoke("sql", run_dir, query, "--format", "json").output)
    assert [r["entries"] for r in as_json] == [100, 100, 50]
    table = invoke("sql", run_dir, "SELECT sum(visits) AS v FROM positions").output
    assert table.splitlines()[2].strip() == "250" and "(1 row)" in table


def test_sql_schema_lists_the_views(run_dir: Path) -> None:
    output = invoke("sql", run_dir, "--schema").output
    for view in ("files(", "samples(", "reservoir(", "positions(", "tiles(", "file_stats("):
        assert view in output
    assert "    global_step BIGINT" in output


def test_user_sql_cannot_write_files(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "leak.csv"
    result = CliRunner().invoke(main, ["sql", str(run_dir), f"COPY files TO '{target}'"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "disabled" in result.output
    assert not target.exists()
    result = CliRunner().invoke(main, ["sql", str(run_dir), "SET enable_external_access = true"])
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("missing", "no such directory"),
        ("no_logs", "no json_logs/ folder"),
        ("no_stats", "no stats_*.json log files yet"),
    ],
)
def test_bad_run_paths_give_one_line_errors(tmp_path: Path, layout: str, message: str) -> None:
    path = tmp_path / "run"
    if layout != "missing":
        path.mkdir()
    if layout == "no_stats":
        (path / "json_logs").mkdir()
        (path / "json_logs" / "other.json").write_text("[]")
    for command in ("ingest", "sql"):
        args = [command, str(path)] + (["SELECT 1"] if command == "sql" else [])
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {path}")
        assert message in lines[0]


def test_problems_exit_zero_unless_strict(make_run) -> None:
    run = make_run({"stats_1.json": nested_entries(20), "stats_2.json": '{"oops": 1}'})
    result = invoke("ingest", run)
    assert result.exit_code == 0
    assert "problem  stats_2.json: error: top level is a JSON object" in result.output
    assert CliRunner().invoke(main, ["ingest", str(run), "--strict"]).exit_code == 1


def test_synth_command_writes_runs(tmp_path: Path) -> None:
    root = tmp_path / "experiments"
    result = invoke("synth", root, "--variant", "v1", "--variant", "v3", "--files", "2",
                    "--envs", "2", "--steps-per-env", "10", "--format", "flat")
    assert result.exit_code == 0
    assert sorted(p.name for p in root.iterdir()) == ["map_data.json", "v1", "v3"]
    report = pokeviz.ingest(root / "v3")
    assert report.entries == 2 * 2 * 10 - 2 * 5  # the last file is a smaller final remainder


def test_python_m_pokeviz_and_a_closed_pipe_end_quietly(run_dir: Path) -> None:
    import subprocess
    import sys

    version = subprocess.run([sys.executable, "-m", "pokeviz", "--version"],
                             capture_output=True, text=True, check=True)
    assert version.stdout == f"pokeviz, version {pokeviz.__version__}\n"
    # `pokeviz sql RUN --schema | head -1`: the reader goes away; pokeviz exits 0, silent.
    piped = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m pokeviz sql "{run_dir}" --schema | head -1; '
                       'exit "${PIPESTATUS[0]}"'],
        capture_output=True, text=True)
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, "files(\n", "")


def test_unexpected_errors_suggest_v_only_without_it(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pokeviz.api

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pokeviz.api, "open_run", broken)
    plain = CliRunner().invoke(main, ["sql", str(run_dir), "SELECT 1"])
    assert plain.exit_code == 1
    assert plain.output.splitlines()[-1] == (
        "Error: unexpected RuntimeError: disk on fire (run again with -v for the traceback)")
    verbose = CliRunner().invoke(main, ["sql", str(run_dir), "SELECT 1", "-v"])
    assert verbose.exit_code == 1
    assert verbose.output.splitlines()[-1] == "Error: unexpected RuntimeError: disk on fire"


def test_the_package_carries_its_license() -> None:
    root = Path(__file__).resolve().parent.parent
    assert (root / "LICENSE").read_text().startswith("MIT License")
    assert 'license-files = ["LICENSE"]' in (root / "pyproject.toml").read_text()
