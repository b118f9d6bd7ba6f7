"""cache + query on synthetic runs: exact counts, staleness, determinism, kill safety."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pokeviz
from pokeviz.cache import CACHE_VERSION, MANIFEST, SIDECARS, update_cache
from pokeviz.discover import resolve_run
from pokeviz.ingest import sample_indices
from pokeviz.query import connect
from pokeviz.synth import FORMATS, synth_run

from .conftest import nested_entries

COMPONENTS = ("event", "level", "heal", "badge", "explore", "dead", "stuck")


def tables(run_dir: Path, reservoir_size: int = 10_000, threads: int | None = None) -> dict:
    """Every public view of a run, as sorted row lists (mtime-free)."""
    con = connect(resolve_run(run_dir), reservoir_size=reservoir_size, threads=threads)
    try:
        out = {}
        for view in ("samples", "reservoir", "positions", "tiles", "file_stats"):
            out[view] = sorted(con.execute(f"SELECT * FROM {view}").fetchall(), key=repr)
        out["files"] = con.execute(
            "SELECT * EXCLUDE (mtime_ns, parser) FROM files ORDER BY file_order"
        ).fetchall()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One small synthetic run per format."""
    root = tmp_path_factory.mktemp("experiments")
    return {
        fmt: synth_run(root, variant=fmt, fmt=fmt, files=4, envs=3, steps_per_env=90, seed=7)
        for fmt in FORMATS
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_summarized_exactly(runs: dict, fmt: str) -> None:
    made = runs[fmt]
    report = pokeviz.ingest(made.run_dir, jobs=2)
    assert report.update.new == len(made.files)
    con = connect(resolve_run(made.run_dir))
    files = con.execute(
        "SELECT file, entries, status, format, total_steps, last_global_step FROM files"
    ).fetchall()
    assert [f[0] for f in files] == [p.name for p in made.files]
    assert [f[1] for f in files] == list(made.entries_per_file)
    assert {f[2] for f in files} == {"ok"} and {f[3] for f in files} == {fmt}
    assert con.execute("SELECT sum(visits) FROM positions").fetchone()[0] == made.total_entries
    assert con.execute("SELECT max(last_global_step) FROM files").fetchone()[0] == (
        made.last_total_steps
    )
    assert report.entries == made.total_entries == made.last_total_steps
    # Samples: min(100, n) per file at the documented indices, global steps contiguous.
    for name, n in zip((p.name for p in made.files), made.entries_per_file, strict=True):
        got = [r[0] for r in con.execute(
            "SELECT entry_index FROM samples WHERE file = ? ORDER BY entry_index", [name]
        ).fetchall()]
        assert got == sample_indices(n)
    first, last = con.execute("SELECT min(global_step), max(global_step) FROM samples").fetchone()
    assert first == 1 and last <= made.last_total_steps
    # NULL, not 0, for what a format lacks.
    nulls = con.execute(
        "SELECT count(reward_total), count(reward_level), count(reward_event), count(*) "
        "FROM samples"
    ).fetchone()
    if fmt == "flat_legacy":
        assert nulls[0] == nulls[1] == 0 and nulls[2] == nulls[3]
        assert con.execute(
            "SELECT count(*) FROM file_stats WHERE metric = 'reward_total'"
        ).fetchone()[0] == 0
    else:
        assert nulls[0] == nulls[1] == nulls[2] == nulls[3]
    con.close()


def test_reservoir_is_the_same_whatever_order_jobs_and_threads(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=6, envs=4, steps_per_env=80, seed=3)
    run = resolve_run(made.run_dir)
    update_cache(run, jobs=1)
    first = tables(made.run_dir, reservoir_size=250)
    assert len(first["reservoir"]) == 250 < len(first["samples"])
    shutil.rmtree(run.cache_dir)

    def shuffled(paths: list[Path]) -> list[Path]:
        paths = list(paths)
        random.Random(5).shuffle(paths)
        return paths

    update_cache(run, jobs=2, order=shuffled)
    assert tables(made.run_dir, reservoir_size=250, threads=1) == first
    assert tables(made.run_dir, reservoir_size=250, threads=2) == first


def test_only_changed_files_are_read_again(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=5, envs=2, steps_per_env=60)
    run = resolve_run(made.run_dir)
    assert len(update_cache(run).ingested) == 5
    again = update_cache(run)
    assert (again.ingested, again.unchanged) == ([], 5)
    touched = made.files[2]
    os.utime(touched, ns=(time.time_ns(), time.time_ns()))
    assert update_cache(run).ingested == [touched.name]
    gone = made.files[1]
    gone.unlink()
    update = update_cache(run)
    assert (update.removed, update.ingested) == (1, [])
    con = connect(run)
    for view in ("files", "samples", "file_stats"):
        query = f"SELECT count(*) FROM {view} WHERE file = ?"
        assert con.execute(query, [gone.name]).fetchone()[0] == 0
    expected = made.total_entries - made.entries_per_file[1]
    assert con.execute("SELECT sum(visits) FROM positions").fetchone()[0] == expected
    # Every Parquet file left is a pack the manifest names; no loose sidecar remains.
    manifest = json.loads((run.cache_dir / MANIFEST).read_text())
    named = {f"{pack}.{kind}.parquet" for pack in manifest["packs"]
             for kind in ("samples", "positions", "stats")}
    assert {p.name for p in (run.cache_dir / SIDECARS).iterdir()} == named
    assert {e["pack"] for e in manifest["files"].values()} == set(manifest["packs"])


def test_truncated_file_is_partial_then_complete(make_run, tmp_path: Path) -> None:
    full = json.dumps(nested_entries(400, total_steps=800), indent=2)
    run_dir = make_run({"stats_1.json": nested_entries(400, total_steps=400),
                        "stats_2.json": full[: len(full) // 2]})
    run = resolve_run(run_dir)
    update_cache(run)
    con = connect(run)
    status, entries, error = con.execute(
        "SELECT status, entries, error FROM files WHERE file = 'stats_2.json'"
    ).fetchone()
    expected = sum(1 for _ in json.loads(full[: full.rindex("},", 0, len(full) // 2) + 1] + "]"))
    assert (status, entries) == ("partial", expected)
    assert "read again" in error
    (run.logs_dir / "stats_2.json").write_text(full)
    assert update_cache(run).ingested == ["stats_2.json"]
    con = connect(run)
    assert con.execute("SELECT status, entries FROM files WHERE file = 'stats_2.json'").fetchone() \
        == ("ok", 400)
    assert con.execute("SELECT sum(visits) FROM positions").fetchone()[0] == 800


def test_bad_files_never_stop_the_run(make_run) -> None:
    good = nested_entries(150)
    run_dir = make_run({
        "stats_1.json": good,
        "stats_2.json": "",
        "stats_3.json": "[]",
        "stats_4.json": '{"step": 1}',
        "stats_5.json": json.dumps(good)[:-900],
        "stats_6.json": json.dumps(good) + " trailing",
        "stats_7.json": b"\xef\xbb\xbf" + json.dumps(good).encode(),
        "stats_8.json": json.dumps(good).replace('"health": 0.9', '"health": NaN', 3),
        "stats_9.json": json.dumps([1, *good]),
        "notes.txt": "not a log",
    })
    report = pokeviz.ingest(run_dir)
    statuses = {name: status for name, status, _ in report.update.problems}
    assert statuses == {
        "stats_2.json": "empty", "stats_3.json": "empty", "stats_4.json": "error",
        "stats_5.json": "partial", "stats_6.json": "error", "stats_7.json": "ok",
        "stats_8.json": "ok", "stats_9.json": "ok",
    }
    con = connect(resolve_run(run_dir))
    rows = dict(con.execute("SELECT file, entries FROM files").fetchall())
    assert rows["stats_1.json"] == rows["stats_7.json"] == rows["stats_8.json"] == 150
    assert rows["stats_6.json"] == rows["stats_9.json"] == 150
    assert con.execute("SELECT bad_values FROM files WHERE file='stats_8.json'").fetchone() == (3,)


def test_stale_cache_version_and_broken_sidecar_are_rebuilt(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=3, envs=2, steps_per_env=50)
    run = resolve_run(made.run_dir)
    update_cache(run)
    clean = tables(made.run_dir)
    pack = sorted((run.cache_dir / SIDECARS).glob("*.samples.parquet"))[0]
    pack.write_bytes(b"not parquet")
    update = update_cache(run)
    assert len(update.ingested) == 3 and "unreadable" in update.notes[0]
    assert tables(made.run_dir) == clean
    manifest = json.loads((run.cache_dir / MANIFEST).read_text())
    manifest["cache_version"] = CACHE_VERSION + 99
    (run.cache_dir / MANIFEST).write_text(json.dumps(manifest))
    update = update_cache(run)
    assert len(update.ingested) == 3 and "rebuilding" in update.notes[0]
    assert tables(made.run_dir) == clean


def test_sigkill_mid_ingest_then_rerun_equals_clean_run(tmp_path: Path) -> None:
    made = synth_run(tmp_path / "a", files=30, envs=4, steps_per_env=300, seed=11)
    run = resolve_run(made.run_dir)
    sidecars = run.cache_dir / SIDECARS
    command = [sys.executable, "-c", "from pokeviz.cli import main; main()",
               "ingest", str(made.run_dir), "--jobs", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sidecars.exists() and len(list(sidecars.glob("*.stats.parquet"))) >= 5:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_early = len(list(sidecars.glob("*.stats.parquet"))) < 30
    rerun = subprocess.run(command, capture_output=True, text=True, check=True)
    assert "30 ok" in rerun.stdout
    killed = tables(made.run_dir)
    shutil.rmtree(run.cache_dir)
    update_cache(run)
    assert killed == tables(made.run_dir)
    assert killed_early  # the kill really happened mid-run


def test_only_reads_just_the_named_files(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=3, envs=2, steps_per_env=30)
    run = resolve_run(made.run_dir)
    update = update_cache(run, only=[made.files[1].name])
    assert update.ingested == [made.files[1].name]
    assert sorted(update_cache(run).ingested) == sorted([made.files[0].name, made.files[2].name])


def test_a_run_whose_files_all_failed_still_has_the_views(make_run) -> None:
    run_dir = make_run({"stats_1.json": '{"a": 1}', "stats_2.json": ""})
    report = pokeviz.ingest(run_dir)
    assert (report.files, report.entries, report.samples, report.unique_tiles) == (2, 0, 0, 0)
    columns, rows = pokeviz.sql(run_dir, "SELECT count(reward_total) FROM samples")
    assert rows == [(0,)]
