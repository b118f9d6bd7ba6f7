"""query + pokeviz sql: the views, the lock-down, streaming answers, messages a user reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pokeviz.api import open_run
from pokeviz.cache import update_cache
from pokeviz.cli import main
from pokeviz.discover import resolve_run
from pokeviz.errors import QueryError
from pokeviz.manifest import cache_totals
from pokeviz.query import PUBLIC_VIEWS, connect, run_sql, stream_sql
from pokeviz.synth import synth_run


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory):
    made = synth_run(tmp_path_factory.mktemp("q"), files=4, envs=2, steps_per_env=40, seed=2)
    update_cache(resolve_run(made.run_dir), jobs=1)
    return made


@pytest.fixture
def run_dir(made) -> Path:
    return made.run_dir


def sql(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["sql", *args])
    return result.exit_code, result.stdout, result.stderr


def test_views_and_totals_agree(made, run_dir: Path) -> None:
    con = connect(resolve_run(run_dir))
    assert {r[0] for r in con.execute("SHOW TABLES").fetchall()} >= set(PUBLIC_VIEWS)
    files, entries, first, last = con.execute(
        "SELECT count(*), sum(entries), min(first_global_step), max(last_global_step) FROM files"
    ).fetchone()
    totals = cache_totals(resolve_run(run_dir))
    assert (totals.files, totals.entries, totals.first_global_step, totals.last_global_step) == (
        files, entries, first, last) == (4, made.total_entries, 1, made.last_total_steps)
    assert totals.statuses == {"ok": 4}
    assert con.execute("SELECT sum(visits) FROM positions").fetchone()[0] == entries


@pytest.mark.parametrize("query", [
    "COPY (SELECT 1) TO '{tmp}/x'",
    "SELECT * FROM read_text('{tmp}/seed')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "ATTACH '{tmp}/db.duckdb' AS other",
    "SET enable_external_access = true",
    "SET temp_directory = '{tmp}'",
])
def test_user_sql_reaches_no_file(run_dir: Path, tmp_path: Path, monkeypatch, query: str) -> None:
    # DuckDB's default spill folder is ./.tmp, and its default allowed folders include it.
    monkeypatch.chdir(tmp_path)
    spill = tmp_path / ".tmp"
    spill.mkdir()
    (spill / "seed").write_text("secret")
    con = connect(resolve_run(run_dir))
    with pytest.raises(QueryError):
        run_sql(con, query.format(tmp=spill))
    assert sorted(p.name for p in spill.iterdir()) == ["seed"]
    assert con.execute(
        "SELECT current_setting('temp_directory'), current_setting('allowed_directories'), "
        "current_setting('allowed_paths')"
    ).fetchone() == ("", [], [])


def test_run_sql_caps_and_stream_sql_streams(run_dir: Path) -> None:
    con = connect(resolve_run(run_dir))
    columns, rows, truncated = run_sql(con, "SELECT range AS i FROM range(25)", max_rows=10)
    assert (columns, rows, truncated) == (["i"], [(i,) for i in range(10)], True)
    assert run_sql(con, "SELECT 1 AS a", max_rows=1) == (["a"], [(1,)], False)
    columns, batches = stream_sql(con, "SELECT range AS i FROM range(25)", batch_rows=10)
    assert [len(b) for b in batches] == [10, 10, 5]


def test_sql_errors_keep_duckdb_hints(run_dir: Path) -> None:
    code, out, err = sql(str(run_dir), "SELECT fil FROM files")
    assert code == 1
    assert 'Candidate bindings: "file"' in err
    assert "LINE 1: SELECT fil FROM files" in err and "^" in err


def test_sql_json_is_json_and_csv_streams(run_dir: Path) -> None:
    code, out, _ = sql(str(run_dir), "SELECT 'nan'::DOUBLE AS a, 'inf'::DOUBLE AS b, "
                       "-'inf'::DOUBLE AS c, NULL AS d, 1.5 AS e", "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"a": None, "b": None, "c": None, "d": None, "e": 1.5}]
    assert "NaN" not in out and "Infinity" not in out
    code, out, _ = sql(str(run_dir), "SELECT range AS i, NULL AS j FROM range(25003)",
                       "--format", "csv")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "i,j" and lines[1] == "0," and len(lines) == 25004
    code, out, _ = sql(str(run_dir), "SELECT range AS i FROM range(25003)", "--format", "json")
    assert [row["i"] for row in json.loads(out)] == list(range(25003))


def test_table_format_is_capped_with_a_note(run_dir: Path) -> None:
    code, out, _ = sql(str(run_dir), "SELECT range AS i FROM range(50)", "--max-rows", "7")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 + 7 + 1
    assert lines[-1].startswith("(first 7 rows shown;")
    code, out, _ = sql(str(run_dir), "SELECT 1 AS one")
    assert out.splitlines()[-1] == "(1 row)"


def test_schema_formats_and_refuses_a_query(run_dir: Path) -> None:
    code, out, _ = sql(str(run_dir), "--schema", "--format", "json")
    views = json.loads(out)
    assert code == 0 and list(views) == list(PUBLIC_VIEWS)
    assert {"column": "global_step", "type": "BIGINT"} in views["samples"]
    code, out, _ = sql(str(run_dir), "--schema", "--format", "csv")
    assert out.splitlines()[0] == "view,column,type" and "files,file,VARCHAR" in out
    code, _, err = sql(str(run_dir), "SELECT 1", "--schema")
    assert code == 2 and "--schema lists the views and takes no QUERY" in err


def test_a_query_without_run_says_run_is_missing(run_dir: Path, monkeypatch) -> None:
    monkeypatch.chdir(run_dir.parent)
    code, _, err = sql("SELECT count(*) FROM files")
    assert code == 2 and "RUN is missing" in err
    code, _, err = sql(str(run_dir))
    assert code == 2 and "give a QUERY after RUN, or --schema" in err


def test_open_run_reports_the_same_totals(run_dir: Path) -> None:
    with open_run(run_dir, update=False) as view:
        assert (view.report.entries, view.report.files) == (cache_totals(view.run).entries, 4)


def test_ten_million_rows_stream_in_bounded_memory(run_dir: Path) -> None:
    """CSV of 10 M rows, and the capped table format, under a 1.5 GB address-space limit
    (the answer held in memory needs several GB)."""
    script = (
        "import resource, sys\n"
        "limit = 1536 * 1024 * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
        "from pokeviz.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    query = "SELECT range AS i, range * 0.5 AS f FROM range(10000000)"
    for fmt, expected in (("csv", 10_000_001), ("table", 10_003)):
        process = subprocess.Popen(
            [sys.executable, "-c", script, "sql", str(run_dir), query, "--format", fmt,
             "--no-update"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, TQDM_DISABLE="1"),
        )
        assert process.stdout is not None
        lines = sum(1 for _ in process.stdout)
        _, err = process.communicate()
        assert process.returncode == 0, err.decode()[-2000:]
        assert lines == expected


@pytest.mark.parametrize("size", [1, 37, 10**6])
def test_the_reported_reservoir_is_the_views_row_count(made, size: int) -> None:
    with open_run(made.run_dir, update=False, reservoir_size=size) as view:
        rows = view.con.execute("SELECT count(*) FROM reservoir").fetchone()[0]
        assert view.report.reservoir == rows == min(size, view.report.samples)
