"""watch, live: the observe loop in this process and ``pokeviz watch`` as a subprocess, on runs
that a background writer creates slowly, like ``json.dump`` on a big list. Every wait is
for a condition, with a generous deadline; nothing depends on the machine's speed."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import pokeviz.watch.tracker
from pokeviz.api import open_run, update_run
from pokeviz.cache import read_manifest
from pokeviz.discover import Run
from pokeviz.synth import synth_run, write_map_table
from pokeviz.watch import watch_run

from .watch_support import (
    INGEST_MODULE,
    Reads,
    WatchProcess,
    Writer,
    pokeviz_command,
    wait_until,
)

DEBOUNCE = 0.5
POLL = 0.3


pytestmark = pytest.mark.usefixtures("no_leaked_threads")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four synthetic log files (~0.9 MB each) to copy in slowly."""
    made = synth_run(tmp_path_factory.mktemp("src"), files=4, envs=4, steps_per_env=256, seed=3)
    return list(made.files)


class WatchThread:
    """``watch_run`` in a thread of this process, with its status lines."""

    def __init__(self, path: Path, **kwargs: object) -> None:
        self.lines: list[str] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=watch_run, name="watch-loop", args=(path,),
                                       kwargs={"stop_event": self.stop_event,
                                               "on_status": self.lines.append, **kwargs})
        self.thread.start()

    def said(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join()


@pytest.fixture(scope="module")
def entries(sources: list[Path]) -> dict[str, int]:
    """The entry count of each source file."""
    return {s.name: INGEST_MODULE.ingest_file(s).entries for s in sources}


@pytest.mark.parametrize("poll", [False, True], ids=["events", "poll"])
def test_watch_run_reads_each_new_file_once(
    tmp_path: Path, sources: list[Path], entries: dict[str, int], reads: Reads, poll: bool
) -> None:
    run = Run(tmp_path / "experiments" / "v4" / "20260101_000000")
    renders: list[int] = []

    def render(r: Run) -> None:
        renders.append(sum(e["entries"] for e in read_manifest(r.cache_dir)[0].values()))

    watch = WatchThread(run.path, debounce_seconds=DEBOUNCE, poll=poll, poll_seconds=POLL,
                        render=render, jobs=1)
    writer = Writer(sources, run.logs_dir)
    try:
        wait_until(lambda: watch.said("waiting: "), "the watcher to wait for the run")
        writer.start()
        writer.join()
        assert writer.error is None
        wait_until(lambda: len(read_manifest(run.cache_dir)[0]) == len(sources)
                   and all(reads.of(s.name)[-1:] == ["ok"] for s in sources),
                   "every file cached ok")
        wait_until(lambda: renders and renders[-1] == 4 * 1024 - 512, "a redraw of every entry")
    finally:
        watch.stop()
    assert watch.lines[0].startswith("waiting: ") and watch.lines[-1] == "stopped"
    sizes = {s.name: s.stat().st_size for s in sources}
    for source in sources:
        statuses = reads.of(source.name)
        # A partial read (the writer paused for two checks), then one ok read; at most one
        # more ok read when the writer went on during a read (the summary keeps the size
        # seen before reading, so the grown file is read again).
        assert statuses[-1] == "ok" and 1 <= statuses.count("ok") <= 2, (source.name, statuses)
        assert len(statuses) <= 3, (source.name, statuses)
    for name, counts in reads.ok_entries.items():  # never cached ok while incomplete
        assert set(counts) == {entries[name]}, (name, counts)
    cached = read_manifest(run.cache_dir)[0]
    assert {n: (e["status"], e["size_bytes"]) for n, e in cached.items()} == {
        n: ("ok", size) for n, size in sizes.items()}


def test_rm_rf_of_the_watched_run_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listings: list[int] = []
    file_versions = pokeviz.watch.tracker.file_versions

    def counted(run: Run, *args: object) -> dict:
        listings.append(1)
        return file_versions(run, *args)

    monkeypatch.setattr(pokeviz.watch.tracker, "file_versions", counted)
    made = synth_run(tmp_path / "experiments", files=6, envs=2, steps_per_env=64, seed=2)
    run = Run(made.run_dir)
    watch = WatchThread(run.path, debounce_seconds=0.0, poll_seconds=POLL, jobs=1,
                        render=lambda r: None)
    try:
        wait_until(lambda: watch.said("files 6 (6 ok)"), "the catch-up")
        shutil.rmtree(run.path)
        wait_until(lambda: watch.said("no json_logs/ folder"), "the watcher to notice")
        seen = len(listings)
        wait_until(lambda: len(listings) >= seen + 3, "three more periodic checks")
    finally:
        watch.stop()
    assert not run.path.exists(), sorted(run.path.rglob("*"))


def sql_json(run_dir: Path, query: str) -> list[dict]:
    """``pokeviz sql --no-update``: what the cache holds now, without updating it."""
    result = subprocess.run(
        pokeviz_command("sql", str(run_dir), query, "--format", "json", "--no-update"),
        capture_output=True, text=True, check=False,
    )
    return json.loads(result.stdout) if result.returncode == 0 else []


@pytest.mark.parametrize("poll", [False, True], ids=["events", "poll"])
def test_cli_watch_end_to_end(
    tmp_path: Path, sources: list[Path], entries: dict[str, int], poll: bool
) -> None:
    run_dir = tmp_path / "experiments" / "v4" / "20260101_000000"  # does not exist yet
    total = 4 * 1024 - 512
    map_data = write_map_table(tmp_path / "map_data.json")
    watch = WatchProcess(tmp_path, str(run_dir), "--debounce-seconds", str(DEBOUNCE),
                         "--poll-seconds", str(POLL), "--map-data", str(map_data), "-v",
                         *(["--poll"] if poll else []))
    writer = Writer(sources, run_dir / "json_logs")
    try:
        watch.wait_for(r"^waiting: .* does not exist yet")
        writer.start()
        writer.join()
        assert writer.error is None and writer.finished_at is not None
        query = "SELECT count(*) AS files, sum(entries) AS entries FROM files WHERE status = 'ok'"
        cached_after = wait_until(lambda: sql_json(run_dir, query) == [
            {"files": 4, "entries": total}], "every entry in pokeviz sql")
        # The figures drawn after the status line that shows every entry.
        rendered_after = watch.wait_for(
            rf"files 4 \(4 ok\)  entries {total:,}  steps 1 … {total:,}.*\n(.*\n)*?"
            r"\d\d:\d\d:\d\d  figures (updated|not updated)")
    finally:
        if writer.is_alive():
            writer.join()
        code = watch.stop()
    assert code == 0, watch.err_path.read_text()
    output = watch.output
    print(f"\n[{'poll' if poll else 'events'}] after the last write: cache complete in "
          f"<= {cached_after:.2f} s, figures in <= {rendered_after:.2f} s more")
    reads = re.findall(r"^  read (\S+): (\w+), ([\d,]+) entries, [\d,]+ bytes$", output, re.M)
    assert {name for name, _, _ in reads} == set(entries)
    for name, status, count in reads:  # every read is printed with -v: none ok while short
        assert status != "ok" or int(count.replace(",", "")) == entries[name], (name, count)
    assert output.rstrip().endswith("stopped (SIGTERM)")
    last_status = output.index(f"entries {total:,}")
    assert re.search(r"figures updated \(2 files\)", output[last_status:]), output
    figures = sorted(p.name for p in (run_dir / "plots").glob("*.png"))
    assert figures == ["v4_20260101_000000_heatmap.png", "v4_20260101_000000_rewards.png"]
    last_write = time.time() - (time.monotonic() - writer.finished_at)
    assert all((run_dir / "plots" / name).stat().st_mtime >= last_write for name in figures)


def test_sigterm_during_ingest_then_restart_equals_a_clean_cache(tmp_path: Path) -> None:
    made = synth_run(tmp_path / "a", files=10, envs=4, steps_per_env=256, seed=5)
    manifest_path = made.run_dir / "plots" / ".cache" / "manifest.json"
    # Each read takes 2 s more, so the catch-up (10 files) is still running when the
    # first files are in the manifest, however busy the machine is.
    watch = WatchProcess(tmp_path, str(made.run_dir), "--debounce-seconds", "0",
                         slow_ingest_seconds=2.0)
    try:
        watch.wait_for(r"catching up")
        wait_until(lambda: manifest_path.exists() and read_manifest(manifest_path.parent)[0],
                   "the first files in the manifest")
        code = watch.stop(signal.SIGTERM)
    finally:
        watch.stop(signal.SIGKILL)
    assert code == 0 and watch.output.rstrip().endswith("stopped (SIGTERM)")
    cached = read_manifest(manifest_path.parent)[0]
    assert len(cached) < 10, "SIGTERM came too late to interrupt the catch-up"
    restart = WatchProcess(tmp_path, str(made.run_dir), "--debounce-seconds", "0")
    try:
        restart.wait_for(r"files 10 \(10 ok\)")
    finally:
        assert restart.stop(signal.SIGTERM) == 0
    run = Run(made.run_dir)
    after_restart = records(run), views(run)
    shutil.rmtree(run.cache_dir)
    update_run(run)
    assert (records(run), views(run)) == after_restart


def records(run: Run) -> dict[str, dict]:
    """The manifest's records without where their rows are stored (packs depend on the
    order in which files were cached, the rows do not)."""
    return {name: {k: v for k, v in record.items() if k not in ("pack", "sidecar")}
            for name, record in read_manifest(run.cache_dir)[0].items()}


def views(run: Run) -> dict[str, list]:
    with open_run(run, update=False) as view:
        return {name: view.con.execute(f"SELECT * FROM {name}").fetchall()
                for name in ("files", "samples", "positions", "tiles", "file_stats")}


def test_ctrl_c_stops_with_exit_130(tmp_path: Path) -> None:
    made = synth_run(tmp_path / "a", files=2, envs=2, steps_per_env=32)
    watch = WatchProcess(tmp_path, str(made.run_dir), "--debounce-seconds", "0")
    try:
        watch.wait_for(r"files 2 \(2 ok\)")
        code = watch.stop(signal.SIGINT)
    finally:
        watch.stop(signal.SIGKILL)
    assert code == 130, watch.output + watch.err_path.read_text()
    assert "stopped (Ctrl-C)" in watch.err_path.read_text()
