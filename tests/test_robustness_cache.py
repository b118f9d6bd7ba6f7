"""The cache under hostile conditions: odd names, read-only runs, concurrent writers, full
disks, leftovers of killed processes, worker failures. Each test reproduces the failure."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from click.testing import CliRunner

import pokeviz.outputs
from pokeviz.cache import SIDECARS, cached_versions, file_versions, stale_files, update_cache
from pokeviz.cli import main
from pokeviz.discover import resolve_run
from pokeviz.manifest import MANIFEST, cache_totals
from pokeviz.query import connect
from pokeviz.synth import synth_run

from .conftest import nested_entries

POKEVIZ = [sys.executable, "-c", "from pokeviz.cli import main; main()"]


def views(run_dir: Path) -> dict:
    con = connect(resolve_run(run_dir))
    try:
        out = {v: sorted(con.execute(f"SELECT * FROM {v}").fetchall(), key=repr)
               for v in ("samples", "positions", "tiles", "file_stats")}
        out["files"] = con.execute(
            "SELECT * EXCLUDE (mtime_ns, parser) FROM files ORDER BY file_order").fetchall()
        return out
    finally:
        con.close()


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def test_odd_file_and_folder_names(tmp_path: Path) -> None:
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/exp\xff/v4/20260101_000000"))
    logs = folder / "json_logs"
    logs.mkdir(parents=True)
    text = json.dumps(nested_entries(30), indent=2)
    for name in ("stats_5.json", "stats_9223372036854775808.json", "stats_9223372036854775807.json",
                 os.fsdecode(b"stats_\xfe.json"), "stats_abc.json"):
        (logs / name).write_text(text)
    result = CliRunner().invoke(main, ["ingest", str(folder), "-j", "1"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["sql", str(folder), "SELECT file, first_global_step "
                                       "FROM files ORDER BY file_order", "--format", "csv"])
    assert result.exit_code == 0, result.output
    # Numbered names by number, then the rest (one beyond int64 too) by their shown name.
    assert result.output.splitlines() == [
        "file,first_global_step", "stats_5.json,1", "stats_9223372036854775807.json,31",
        "stats_9223372036854775808.json,61", "stats_\\xfe.json,91", "stats_abc.json,121"]
    run = resolve_run(folder)
    assert cache_totals(run).last_global_step == 150 and stale_files(run) == []


def _drop_privileges() -> None:
    """Root ignores file permissions; without any capability (now and after exec) it
    no longer does."""
    if os.geteuid() != 0:
        return

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):  # the bounding set: what a root exec gets back
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP; unknown numbers fail, fine
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)()) != 0:
        os._exit(97)


def as_reader(command: list[str]) -> subprocess.CompletedProcess:
    """Run ``command`` as a process that cannot write the read-only run."""
    return subprocess.run(command, capture_output=True, text=True, preexec_fn=_drop_privileges,
                          env=dict(os.environ, TQDM_DISABLE="1", MPLCONFIGDIR=tempfile.mkdtemp()))


def set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        mode = mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP
                                                               | stat.S_IWOTH)
        path.chmod(mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
                   | (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH if path.is_dir() else 0))


def test_a_read_only_run_is_served(tmp_path: Path) -> None:
    base = tmp_path
    try:
        made = synth_run(base / "exp", files=3, envs=2, steps_per_env=30, seed=4)
        run = resolve_run(made.run_dir)
        update_cache(run, jobs=1)
        before = (run.cache_dir / MANIFEST).stat().st_mtime_ns
        out = base / "out"
        out.mkdir()
        set_writable(base / "exp", False)
        query = "SELECT count(*) FROM files"
        result = as_reader([*POKEVIZ, "sql", str(made.run_dir), query, "--format", "csv"])
        assert (result.returncode, result.stdout, result.stderr) == (0, "count_star()\n3\n", "")
        result = as_reader([*POKEVIZ, "plot", str(made.run_dir), "--output-dir", str(out)])
        assert result.returncode == 0, result.stderr
        result = as_reader([*POKEVIZ, "compare", "--experiments-dir", str(base / "exp"),
                            "--output-dir", str(out)])
        assert result.returncode == 0, result.stderr
        assert (run.cache_dir / MANIFEST).stat().st_mtime_ns == before
        # Stale and unwritable: one note, and what is cached.
        set_writable(made.run_dir / "json_logs", True)
        shutil.copy(made.files[0], made.run_dir / "json_logs" / "stats_9999999999.json")
        set_writable(made.run_dir / "json_logs", False)
        result = as_reader([*POKEVIZ, "sql", str(made.run_dir), query, "--format", "csv"])
        assert (result.returncode, result.stdout) == (0, "count_star()\n3\n")
        assert result.stderr.count("\n") == 1 and "permission denied" in result.stderr
        assert "showing the cache as it is, without 1 changed log file" in result.stderr
    finally:
        set_writable(base, True)


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=24, envs=3, steps_per_env=100, seed=5)
    env = dict(os.environ, TQDM_DISABLE="1")
    writers = [subprocess.Popen([*POKEVIZ, "ingest", str(made.run_dir), "-j", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env) for _ in range(3)]
    readers = []
    while any(w.poll() is None for w in writers):
        if (resolve_run(made.run_dir).cache_dir / MANIFEST).exists():
            readers.append(subprocess.run(
                [*POKEVIZ, "sql", str(made.run_dir), "SELECT count(*) FROM samples",
                 "--no-update"], capture_output=True, text=True, env=env))
        else:
            time.sleep(0.05)
    for writer in writers:
        out, err = writer.communicate()
        assert writer.returncode == 0, err
        assert "24 ok" in out
    assert all(r.returncode == 0 for r in readers), [r.stderr for r in readers]
    assert temp_files(made.run_dir) == []
    kept = views(made.run_dir)
    shutil.rmtree(resolve_run(made.run_dir).cache_dir)
    update_cache(resolve_run(made.run_dir), jobs=1)
    assert views(made.run_dir) == kept


def test_disk_full_is_one_line_and_keeps_the_cache(tmp_path: Path, monkeypatch) -> None:
    made = synth_run(tmp_path, files=3, envs=2, steps_per_env=30, seed=6)
    run = resolve_run(made.run_dir)
    update_cache(run, jobs=1)
    before = views(made.run_dir)
    shutil.copy(made.files[0], run.logs_dir / "stats_9999999999.json")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pokeviz.outputs.os, "fsync", full)
    result = CliRunner().invoke(main, ["ingest", str(made.run_dir), "-j", "1"])
    monkeypatch.undo()
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {run.cache_dir / SIDECARS}/")
    assert lines[0].endswith(": no space left on device; free space and run again")
    assert views(made.run_dir) == before and temp_files(made.run_dir) == []
    assert stale_files(run) == ["stats_9999999999.json"]


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=2, envs=2, steps_per_env=30, seed=7)
    run = resolve_run(made.run_dir)
    update_cache(run, jobs=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    old = time.time() - 120
    names = {
        "old_dead": f".x.png.{dead}.0123abcd.tmp", "new_dead": f".y.png.{dead}.0123abcd.tmp",
        "old_live": f".z.png.{os.getppid()}.0123abcd.tmp", "other": "notes.tmp",
    }
    for folder in (run.plots_dir, run.cache_dir, run.cache_dir / SIDECARS):
        for key, name in names.items():
            (folder / name).write_bytes(b"x")
            if key != "new_dead":
                os.utime(folder / name, (old, old))
    update_cache(run, jobs=1)  # nothing changed: the sweep still runs
    left = {p.name for folder in (run.cache_dir, run.cache_dir / SIDECARS) for p in
            folder.iterdir()}
    assert names["old_dead"] not in left
    assert {names["new_dead"], names["old_live"], names["other"]} <= left
    os.utime(run.logs_dir / made.files[0].name)  # a change: the writer sweeps plots/ too
    update_cache(run, jobs=1)
    assert names["old_dead"] not in {p.name for p in run.plots_dir.iterdir()}


def test_staleness_rule_and_executor(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=5, envs=2, steps_per_env=30, seed=8)
    run = resolve_run(made.run_dir)
    assert stale_files(run) == [p.name for p in made.files] and cached_versions(run) == {}
    with ThreadPoolExecutor(2) as pool:
        update = update_cache(run, executor=pool)
    assert sorted(update.ingested) == sorted(p.name for p in made.files)
    assert cached_versions(run) == file_versions(run) and stale_files(run) == []
    by_executor = views(made.run_dir)
    shutil.rmtree(run.cache_dir)
    update_cache(run, jobs=2)
    assert views(made.run_dir) == by_executor
    os.utime(made.files[3])
    assert stale_files(run) == [made.files[3].name]


class FailingExecutor(ThreadPoolExecutor):
    """Runs every job except the one for ``bad``, whose worker 'dies'."""

    def __init__(self, bad: str) -> None:
        super().__init__(1)
        self.bad = bad

    def submit(self, fn, *args, **kwargs):  # type: ignore[override]
        if Path(args[0]).name == self.bad:
            future: Future = Future()
            future.set_exception(RuntimeError("worker lost"))
            return future
        return super().submit(fn, *args, **kwargs)


def test_a_failed_worker_is_a_problem_and_read_next_time(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=3, envs=2, steps_per_env=30, seed=9)
    run = resolve_run(made.run_dir)
    bad = made.files[1].name
    with FailingExecutor(bad) as pool:
        update = update_cache(run, executor=pool)
    assert (bad, "error") in [(f, s) for f, s, _ in update.problems]
    assert "worker lost" in dict((f, m) for f, _, m in update.problems)[bad]
    assert stale_files(run) == [bad]
    assert update_cache(run, jobs=1).ingested == [bad]


def test_a_worker_that_cannot_write_returns_the_tables(tmp_path: Path) -> None:
    from pokeviz.cache import ingest_job

    made = synth_run(tmp_path, files=1, envs=2, steps_per_env=30, seed=10)
    result = ingest_job(str(made.files[0]), str(tmp_path / "elsewhere" / ".cache"))
    assert set(result["parquet"]) == {"samples", "positions", "stats"}
    assert all(data[:4] == b"PAR1" for data in result["parquet"].values())
    assert not (tmp_path / "elsewhere").exists()


def test_adding_files_one_by_one_keeps_few_packs(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=20, envs=2, steps_per_env=20, seed=11)
    run = resolve_run(made.run_dir)
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for path in made.files[1:]:
        path.rename(hidden / path.name)
    update_cache(run, jobs=1)
    for path in made.files[1:]:
        (hidden / path.name).rename(path)
        update_cache(run, jobs=1)
        packs = json.loads((run.cache_dir / MANIFEST).read_text())["packs"]
        files = len(list(run.logs_dir.iterdir()))
        assert len(packs) <= files.bit_length()
    assert len(list((run.cache_dir / SIDECARS).iterdir())) == 3 * len(packs)
    one_by_one = views(made.run_dir)
    shutil.rmtree(run.cache_dir)
    update_cache(run, jobs=1)
    assert views(made.run_dir) == one_by_one
