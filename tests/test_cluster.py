"""Distributed ingest against a real Dask scheduler and two worker processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pokeviz.api import open_run
from pokeviz.cli import main
from pokeviz.cluster import ClusterError, cluster_executor, parse_scheduler
from pokeviz.query import schema
from pokeviz.synth import synth_run

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEADLINE_SECONDS = 120


def wait_for(condition, what: str) -> None:
    """Return as soon as ``condition()`` holds; fail after a generous deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {DEADLINE_SECONDS} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `dask scheduler` and two `dask worker` processes; yields the scheduler address."""
    import distributed

    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_DISTRIBUTED__WORKER__DAEMON="False")
    common = {"cwd": folder, "env": env, "stdout": subprocess.DEVNULL,
              "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(info)], **common)]
    try:
        wait_for(lambda: info.exists() and info.stat().st_size > 0, "the scheduler file")
        address = json.loads(info.read_text())["address"]
        for name in ("w1", "w2"):
            processes.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--name", name,
                 "--no-dashboard", "--host", "127.0.0.1"], **common))
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=DEADLINE_SECONDS)
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def tables(run: Path) -> dict[str, list[tuple]]:
    """Every view of the run's cache, sorted: what any surface can see of it."""
    with open_run(run, update=False) as view:
        return {name: view.con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
                for name in schema(view.con)}


def manifest(run: Path) -> dict:
    """The manifest, with pack names (random per write, local or not) numbered in order."""
    data = json.loads((run / "plots" / ".cache" / "manifest.json").read_text())
    names = {name: f"pack-{i}" for i, name in enumerate(sorted(
        data.get("packs", {}), key=lambda n: sorted(
            f for f, e in data["files"].items() if e.get("pack") == n)))}
    data["packs"] = {names[n]: v for n, v in data.get("packs", {}).items()}
    for entry in data["files"].values():
        if "pack" in entry:
            entry["pack"] = names[entry["pack"]]
    return data


def summary(output: str) -> list[str]:
    """The ingest summary without its time line (the only line that may differ)."""
    return [line for line in output.splitlines() if not line.startswith("time ")]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A synthetic run with one broken file (reported as a problem, not fatal)."""
    made = synth_run(tmp_path / "experiments", files=6, envs=3, steps_per_env=300, seed=4)
    (made.run_dir / "json_logs" / "stats_1767000000.json").write_text('[{"step": 0, "posi')
    return made.run_dir


def ingest(*args: object) -> list[str]:
    result = CliRunner().invoke(main, ["ingest", *map(str, args)])
    assert result.exit_code == 0, result.output
    return summary(result.output)


def test_cluster_ingest_equals_a_local_ingest(scheduler: str, run: Path) -> None:
    local_lines = ingest(run, "--jobs", "2")
    local_tables, local_manifest = tables(run), manifest(run)
    assert sum(len(rows) for rows in local_tables.values()) > 1000
    assert any("stats_1767000000.json" in line and "cut off" in line for line in local_lines)
    shutil.rmtree(run / "plots")

    remote_lines = ingest(run, "--scheduler", scheduler)
    assert remote_lines == local_lines  # same counts, the same problem line
    assert manifest(run) == local_manifest
    assert tables(run) == local_tables

    # An update through the cluster reads only the new file, and still matches.
    extra = synth_run(run.parent.parent / "more", files=2, envs=3, steps_per_env=300, seed=9)
    shutil.copy2(extra.files[0], run / "json_logs" / "stats_1767999999.json")
    remote_update = ingest(run, "--scheduler", scheduler)
    assert "this update: 1 new, 0 re-read, 7 unchanged" in "\n".join(remote_update)
    after_remote = tables(run)
    shutil.rmtree(run / "plots")
    assert ingest(run, "--jobs", "1")[2:] == remote_update[2:]
    assert tables(run) == after_remote


def test_local_cluster_equals_a_local_ingest(run: Path) -> None:
    local_lines = ingest(run, "--jobs", "1")
    local_tables = tables(run)
    shutil.rmtree(run / "plots")
    assert ingest(run, "--scheduler", "local:2") == local_lines
    assert tables(run) == local_tables


def test_one_cluster_ingests_many_runs(scheduler: str, tmp_path: Path) -> None:
    runs = [synth_run(tmp_path / "e", variant=v, files=3, envs=2, steps_per_env=200).run_dir
            for v in ("v1", "v2", "v3")]
    with cluster_executor(scheduler) as executor:
        reports = [open_run(r, executor=executor).report for r in runs]
    for run_dir, report in zip(runs, reports, strict=True):
        assert (report.files, report.entries) == (3, 2 * 200 * 2 + 2 * 100)
        remote = tables(run_dir)
        shutil.rmtree(run_dir / "plots")
        with open_run(run_dir, jobs=1):
            pass
        assert tables(run_dir) == remote


def test_a_worker_that_cannot_reach_the_run_sends_its_sidecars_back(
    scheduler: str, run: Path, tmp_path: Path
) -> None:
    from pokeviz.cache import ingest_job

    log = sorted((run / "json_logs").glob("stats_17672*.json"))[0]
    unreachable = tmp_path / "not-there" / ".cache"
    with cluster_executor(scheduler) as executor:
        result = executor.submit(ingest_job, str(log), str(unreachable), 2**62).result()
    assert not unreachable.exists()
    assert set(result["parquet"]) == set(result["tables"])
    assert all(isinstance(data, bytes) and data[:4] == b"PAR1"
               for data in result["parquet"].values())


def _die_once(marker: str) -> str:
    """Kill this worker process the first time; on the retry, say who ran it."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return "done"


def test_a_dying_worker_is_retried_by_dask(scheduler: str, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    with cluster_executor(scheduler) as executor:
        assert executor.submit(_die_once, str(marker)).result(timeout=DEADLINE_SECONDS) == "done"
    assert marker.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("local:2", ("local", 2)), ("local:1", ("local", 1)),
     ("tcp://10.0.0.5:8786", ("address", "tcp://10.0.0.5:8786")),
     (" tcp://h:1 ", ("address", "tcp://h:1"))],
)
def test_parse_scheduler(text: str, expected: tuple) -> None:
    assert parse_scheduler(text) == expected


def test_parse_scheduler_file_and_local_default(tmp_path: Path) -> None:
    info = tmp_path / "scheduler.json"
    info.write_text("{}")
    assert parse_scheduler(str(info)) == ("file", info)
    assert parse_scheduler("local") == ("local", os.cpu_count() or 1)


@pytest.mark.parametrize("text", ["local:0", "local:x", "local:-1", "locals"])
def test_bad_local_counts_are_one_line(text: str) -> None:
    with pytest.raises(ClusterError, match="local:"):
        parse_scheduler(text)


def test_without_distributed_the_error_says_what_to_install(run: Path) -> None:
    code = ("import sys; sys.modules['distributed'] = None; from pokeviz.cli import main; "
            f"sys.exit(main(['ingest', {str(run)!r}, '--scheduler', 'local:2']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=DEADLINE_SECONDS)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: --scheduler needs Dask distributed, which is not installed: "
        "pip install 'pokeviz[cluster]'")
    assert not (run / "plots").exists()


def test_compare_and_stats_ingest_every_run_on_one_cluster(scheduler: str, tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    for i, variant in enumerate(("v1", "v1", "v4", "v4")):
        synth_run(experiments, variant=variant, timestamp=f"2026010{i + 1}_000000", files=3,
                  envs=2, steps_per_env=100, seed=i)
    runs = sorted(experiments.glob("v*/2026*"))

    def cli(*args: object) -> str:
        result = CliRunner().invoke(main, [*map(str, args)])
        assert result.exit_code == 0, result.output
        return result.stdout

    def variant_rows(output: str) -> list[str]:
        return [line for line in output.splitlines() if line.startswith(("v1 ", "v4 "))]

    stats = ("stats", "--experiments-dir", experiments, "--format", "json", "--no-figures",
             "--reps", 200)
    remote_stats = json.loads(cli(*stats, "--scheduler", scheduler))
    remote_tables = {run: tables(run) for run in runs}
    remote_compare = cli("compare", "--experiments-dir", experiments, "--output-dir",
                         tmp_path / "remote", "--scheduler", scheduler)
    for run in runs:
        shutil.rmtree(run / "plots")

    assert json.loads(cli(*stats, "--jobs", 1)) == remote_stats
    assert {run: tables(run) for run in runs} == remote_tables
    local_compare = cli("compare", "--experiments-dir", experiments, "--output-dir",
                        tmp_path / "local", "--jobs", 1)
    assert len(variant_rows(local_compare)) == 2
    assert variant_rows(local_compare) == variant_rows(remote_compare)
    for png in (tmp_path / "local").glob("*.png"):
        assert png.read_bytes() == (tmp_path / "remote" / png.name).read_bytes()
