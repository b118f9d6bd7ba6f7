"""watch: the handler and the watcher with made-up events and clocks; the loop and the CLI
on runs that a background writer creates slowly, like ``json.dump`` on a big list."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from watchdog.events import (
    DirModifiedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

import pokeviz.cache
from pokeviz.cache import SIDECARS, read_manifest, update_cache
from pokeviz.cli import main
from pokeviz.discover import Run
from pokeviz.query import connect
from pokeviz.synth import synth_run, write_map_table
from pokeviz.watch import (
    LogEventHandler,
    RunWatcher,
    find_run,
    looks_complete,
    render_figures,
    watch_run,
)

from .conftest import nested_entries

DEBOUNCE = 0.5
POLL = 0.3


# ---------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail any test that leaves a thread running (observers must be stopped and joined)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    while leaked and time.monotonic() < deadline:
        time.sleep(0.02)  # a thread that is finishing gets a moment; a leaked one does not
        leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


class Reads:
    """Every ``ingest_file`` call of this process: (name, status, size_bytes)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def of(self, name: str) -> list[str]:
        with self._lock:
            return [status for n, status, _ in self.calls if n == name]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Count the cache's reads of log files (use ``jobs=1`` so they happen here)."""
    record = Reads()
    original = pokeviz.cache.ingest_file

    def counting(path: Any, **kwargs: Any) -> Any:
        summary = original(path, **kwargs)
        with record._lock:
            record.calls.append((summary.file, summary.status, summary.size_bytes))
        return summary

    monkeypatch.setattr(pokeviz.cache, "ingest_file", counting)
    return record


def payload(index: int, n: int = 60) -> bytes:
    """A complete nested_total log file of ``n`` entries, as ``json.dump(indent=2)`` writes."""
    entries = nested_entries(n, total_steps=(index + 1) * n, start=index)
    return json.dumps(entries, indent=2).encode()


def cut(data: bytes) -> int:
    """A place in the middle of an entry (never right after a ``]``)."""
    middle = len(data) // 2
    while data[middle - 1 : middle] in (b"]", b"}", b" ", b"\n"):
        middle += 1
    return middle


def empty_run(tmp_path: Path) -> Run:
    run = Run(tmp_path / "experiments" / "v4" / "20260101_000000")
    run.logs_dir.mkdir(parents=True)
    return run


def make_watcher(run: Run, **kwargs: Any) -> tuple[RunWatcher, list[str], list[int]]:
    """A watcher with jobs=1, a render that records the cached entry count, a fixed clock."""
    lines: list[str] = []
    renders: list[int] = []

    def render(r: Run) -> None:
        renders.append(sum(e["entries"] for e in read_manifest(r.cache_dir)[0].values()))

    options = {"debounce_seconds": 10.0, "poll_seconds": 1.0, "jobs": 1, "on_status": lines.append,
               "wall_clock": lambda: 0.0, "render": render}
    options.update(kwargs)
    return RunWatcher(run, **options), lines, renders


def feed(watcher: RunWatcher, *events: Any) -> None:
    for event in events:
        watcher.handler.dispatch(event)


def cached_status(watcher: RunWatcher, name: str) -> str | None:
    return watcher.cached.get(name, {}).get("status")


# ---------------------------------------------------------------------------
# The handler, with synthetic events


def test_handler_sorts_events_into_finished_and_written() -> None:
    handler = LogEventHandler()
    logs = "/runs/v4/20260101_000000/json_logs"
    handler.dispatch(FileCreatedEvent(f"{logs}/stats_1.json"))
    handler.dispatch(FileModifiedEvent(f"{logs}/stats_2.json"))
    assert not handler.wake.is_set()  # a file being written does not wake the loop
    handler.dispatch(FileClosedEvent(f"{logs}/stats_3.json"))
    assert handler.wake.is_set()
    handler.dispatch(FileMovedEvent(f"{logs}/.stats_4.json.tmp", f"{logs}/stats_4.json"))
    handler.dispatch(FileMovedEvent(f"{logs}/stats_5.json", f"{logs}/stats_final_6.json"))
    handler.dispatch(FileDeletedEvent(f"{logs}/stats_7.json"))
    handler.dispatch(FileModifiedEvent(f"{logs}/stats_1.json".encode()))  # bytes paths too
    changes = handler.take()
    assert changes.written == {"stats_1.json", "stats_2.json"}
    assert changes.finished == {
        "stats_3.json", "stats_4.json", "stats_5.json", "stats_final_6.json", "stats_7.json"
    }
    assert handler.take().finished == frozenset() == handler.take().written  # take forgets


def test_handler_ignores_own_reads_directories_and_other_files() -> None:
    handler = LogEventHandler()
    logs = "/runs/v4/20260101_000000/json_logs"
    for event in (
        FileOpenedEvent(f"{logs}/stats_1.json"),  # the watcher reading a log file
        FileClosedNoWriteEvent(f"{logs}/stats_1.json"),
        DirModifiedEvent(logs),
        FileCreatedEvent(f"{logs}/notes.txt"),
        FileClosedEvent(f"{logs}/.stats_1.json.tmp"),
        FileModifiedEvent(f"{logs}/stats_1.json.bak"),
        FileMovedEvent(f"{logs}/a.tmp", f"{logs}/b.txt"),
        FileDeletedEvent(f"{logs}/events.out.tfevents"),
    ):
        handler.dispatch(event)
    changes = handler.take()
    assert changes.finished == frozenset() and changes.written == frozenset()
    assert not handler.wake.is_set()


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        (b'[{"step": 1}]', True),
        (b'[\n  {\n    "step": 1\n  }\n]', True),
        (b'[\n  {\n    "step": 1\n  }\n]\n\n', True),
        (b"[]", True),
        (b'[{"step": 1, "levels": [6, 0]', False),  # cut right after an inner list
        (b'[\n  {\n    "levels": [\n      6\n    ]', False),
        (b'[{"step": 1}, {"st', False),
        (b"", False),
    ],
)
def test_looks_complete(tmp_path: Path, text: bytes, complete: bool) -> None:
    path = tmp_path / "stats_1.json"
    path.write_bytes(text)
    assert looks_complete(path) is complete
    assert not looks_complete(tmp_path / "missing.json")


# ---------------------------------------------------------------------------
# The watcher, driven by synthetic events and a made-up clock (no sleeps)


def test_each_new_file_is_read_once_when_closed(tmp_path: Path, reads: Reads) -> None:
    run = empty_run(tmp_path)
    watcher, lines, renders = make_watcher(run)
    watcher.catch_up(0.0)
    now, names = 0.0, [f"stats_{1000 + i}.json" for i in range(4)]
    for index, name in enumerate(names):
        path, data = run.logs_dir / name, payload(index)
        with open(path, "wb") as handle:  # json.dump: one open, many writes, one close
            handle.write(data[: cut(data)])
            handle.flush()
            feed(watcher, FileCreatedEvent(str(path)), FileModifiedEvent(str(path)))
            now += 1.0
            assert watcher.tick(now).read == []  # in progress: not read
            handle.write(data[cut(data) : -3])
            handle.flush()
            feed(watcher, FileModifiedEvent(str(path)))
            now += 1.0
            assert watcher.tick(now).read == []  # grew since the last check: not read
            handle.write(data[-3:])
        feed(watcher, FileModifiedEvent(str(path)), FileClosedEvent(str(path)))
        assert watcher.tick(now + 0.01).read == [name]  # closed: read at once
        feed(watcher, FileOpenedEvent(str(path)), FileClosedNoWriteEvent(str(path)))
        now += 1.0
        assert watcher.tick(now).read == []  # our own read is not a change
    assert sorted(reads.calls) == sorted((n, "ok", len(payload(i))) for i, n in enumerate(names))
    assert "files 4 (4 ok)  entries 240  steps 1 … 240  read 1" in lines[-1]


def test_a_stalled_writer_costs_one_partial_read(tmp_path: Path, reads: Reads) -> None:
    run = empty_run(tmp_path)
    watcher, lines, _ = make_watcher(run)
    watcher.catch_up(0.0)
    path, data = run.logs_dir / "stats_1000.json", payload(0)
    handle = open(path, "wb")  # noqa: SIM115 - the writer keeps it open across ticks
    handle.write(data[: cut(data)])
    handle.flush()
    feed(watcher, FileCreatedEvent(str(path)))
    assert watcher.tick(1.0).read == []
    assert watcher.tick(2.0).read == ["stats_1000.json"]  # same size+mtime at two checks
    assert cached_status(watcher, "stats_1000.json") == "partial"
    assert "1 partial" in lines[-1] and "stats_1000.json partial" in lines[-1]
    assert watcher.tick(3.0).read == []  # a partial file that did not change is not re-read
    handle.write(data[cut(data) :])
    handle.close()
    feed(watcher, FileClosedEvent(str(path)))
    assert watcher.tick(3.1).read == ["stats_1000.json"]
    assert cached_status(watcher, "stats_1000.json") == "ok"
    assert [status for _, status, _ in reads.calls] == ["partial", "ok"]


def test_without_events_files_are_taken_when_complete_or_stable(tmp_path: Path) -> None:
    """What ``--poll`` relies on: no open/close events at all, only periodic checks."""
    run = empty_run(tmp_path)
    watcher, _, _ = make_watcher(run)
    watcher.catch_up(0.0)
    complete, data = run.logs_dir / "stats_1.json", payload(0)
    complete.write_bytes(data)
    growing = run.logs_dir / "stats_2.json"
    growing.write_bytes(data[: cut(data)])
    assert watcher.tick(0.5).read == []  # no event and no check due: nothing looked at
    assert watcher.tick(1.0).read == ["stats_1.json"]  # looks complete: taken at once
    assert watcher.tick(2.0).read == ["stats_2.json"]  # stable across two checks
    assert cached_status(watcher, "stats_2.json") == "partial"
    with open(growing, "ab") as handle:
        handle.write(data[cut(data) :])
    assert watcher.tick(3.0).read == ["stats_2.json"]
    assert cached_status(watcher, "stats_2.json") == "ok"


def test_renders_at_most_once_per_debounce_and_drops_deleted_files(tmp_path: Path) -> None:
    run = empty_run(tmp_path)
    (run.logs_dir / "stats_1.json").write_bytes(payload(0))
    watcher, lines, renders = make_watcher(run, debounce_seconds=10.0, poll_seconds=100.0)
    watcher.catch_up(0.0)
    assert watcher.tick(0.0).rendered and renders == [60]  # catching up renders at once
    for now, name in ((1.0, "stats_2.json"), (6.0, "stats_3.json")):
        (run.logs_dir / name).write_bytes(payload(1))
        feed(watcher, FileClosedEvent(str(run.logs_dir / name)))
        assert watcher.tick(now).read == [name]
        assert not watcher.tick(now + 0.5).rendered
    assert watcher.seconds_until_due(9.0) == pytest.approx(2.0)  # due 10 s after the 1st change
    assert not watcher.tick(10.9).rendered
    assert watcher.tick(11.0).rendered and renders == [60, 180]  # one render for both files
    assert not watcher.tick(12.0).rendered
    (run.logs_dir / "stats_2.json").unlink()
    feed(watcher, FileDeletedEvent(str(run.logs_dir / "stats_2.json")))
    tick = watcher.tick(12.0)
    assert tick.update is not None and tick.update.removed == 1
    assert "files 2 (2 ok)  entries 120" in lines[-1] and "removed 1" in lines[-1]
    assert not watcher.tick(21.9).rendered
    assert watcher.tick(22.0).rendered and renders == [60, 180, 120]


def test_bad_file_and_failed_render_are_reported_and_watching_goes_on(tmp_path: Path) -> None:
    run = empty_run(tmp_path)
    failures = iter([RuntimeError("disk full"), None, None])

    def render(r: Run) -> None:
        failure = next(failures)
        if failure:
            raise failure

    watcher, lines, _ = make_watcher(run, render=render, debounce_seconds=0.0)
    (run.logs_dir / "stats_1.json").write_bytes(b'{"not": "a list of entries"}')
    watcher.catch_up(0.0)
    assert "1 error" in lines[-1] and "problems 1: stats_1.json error" in lines[-1]
    assert not watcher.tick(0.0).rendered
    assert "figures not updated: RuntimeError: disk full; still watching" in lines[-1]
    (run.logs_dir / "stats_2.json").write_bytes(payload(0))
    feed(watcher, FileClosedEvent(str(run.logs_dir / "stats_2.json")))
    tick = watcher.tick(1.0)
    assert tick.read == ["stats_2.json"] and tick.rendered
    assert "files 2 (1 error, 1 ok)  entries 60" in lines[-2]
    shutil.rmtree(run.logs_dir)  # even the folder vanishing is reported, once
    watcher.tick(2.0)
    watcher.tick(3.0)
    assert sum("json_logs/ folder" in line for line in lines) == 1


def test_files_a_renderer_reads_itself_are_reported_without_another_render(
    tmp_path: Path,
) -> None:
    """``plot_run`` without ``update=False`` brings the cache up to date itself."""
    run = empty_run(tmp_path)
    renders: list[int] = []

    def updating_render(r: Run) -> SimpleNamespace:
        renders.append(1)
        return SimpleNamespace(report=SimpleNamespace(update=update_cache(r, jobs=1)))

    watcher, lines, _ = make_watcher(run, render=updating_render, debounce_seconds=1.0)
    (run.logs_dir / "stats_1.json").write_bytes(payload(0))
    watcher.catch_up(0.0)
    data = payload(1)
    (run.logs_dir / "stats_2.json").write_bytes(data[: cut(data)])  # being written
    assert watcher.tick(0.0).rendered
    assert lines[-2].endswith("(read by the renderer)") and "1 partial" in lines[-2]
    assert lines[-1].startswith("00:00:00  figures updated")
    assert watcher.seconds_until_due(0.0) == pytest.approx(1.0)  # the next check, no render
    assert not watcher.tick(5.0).rendered and renders == [1]


def test_default_renderer_asks_plot_run_not_to_update_when_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pokeviz.plots

    calls: list[dict] = []

    def plot_run(run: Run, *, formats: tuple = ("png",), map_data: Any = None,
                 update: bool = True) -> None:
        calls.append({"formats": formats, "map_data": map_data, "update": update})

    monkeypatch.setattr(pokeviz.plots, "plot_run", plot_run)
    render_figures(empty_run(tmp_path), formats=["pdf"], map_data="m.json")
    assert calls == [{"formats": ("pdf",), "map_data": "m.json", "update": False}]


def test_cli_rejects_a_missing_map_table_before_watching(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = CliRunner().invoke(main, ["watch", str(tmp_path), "--map-data", str(missing)])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {missing}: no such map table; pass --map-data PATH to the map_data.json "
        "of your training code"
    )


def test_find_run_waits_for_json_logs_and_takes_a_variants_latest_run(tmp_path: Path) -> None:
    variant = tmp_path / "v4"
    assert find_run(variant) == (None, f"{variant} does not exist yet")
    variant.mkdir()
    assert find_run(variant)[1] == f"{variant / 'json_logs'} does not exist yet"
    (variant / "20260101_000000" / "json_logs").mkdir(parents=True)
    (variant / "20260102_000000" / "plots").mkdir(parents=True)  # no json_logs/: not a run
    assert find_run(variant)[0] == Run((variant / "20260101_000000").resolve())
    (variant / "20260102_000000" / "json_logs").mkdir()
    assert find_run(variant)[0] == Run((variant / "20260102_000000").resolve())


# ---------------------------------------------------------------------------
# The observe loop in this process, with real observers and a background writer


class Writer(threading.Thread):
    """Copies log files into a run in ``chunks`` writes, like a slow ``json.dump``."""

    def __init__(self, sources: list[Path], logs_dir: Path, *, chunks: int = 5,
                 gap_seconds: float = 0.05, start_delay_seconds: float = 0.0) -> None:
        super().__init__(name="log-writer")
        self.sources, self.logs_dir, self.chunks = sources, logs_dir, chunks
        self.gap_seconds, self.start_delay_seconds = gap_seconds, start_delay_seconds
        self.finished_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            time.sleep(self.start_delay_seconds)
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            for source in self.sources:
                data = source.read_bytes()
                step = -(-len(data) // self.chunks)
                with open(self.logs_dir / source.name, "wb") as handle:
                    for start in range(0, len(data), step):
                        handle.write(data[start : start + step])
                        handle.flush()
                        time.sleep(self.gap_seconds)
            self.finished_at = time.monotonic()
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; return the seconds waited."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four synthetic log files (~0.9 MB each) to copy in slowly."""
    made = synth_run(tmp_path_factory.mktemp("src"), files=4, envs=4, steps_per_env=256, seed=3)
    return list(made.files)


@pytest.mark.parametrize("poll", [False, True], ids=["events", "poll"])
def test_watch_run_reads_each_new_file_once(
    tmp_path: Path, sources: list[Path], reads: Reads, poll: bool
) -> None:
    run = Run(tmp_path / "experiments" / "v4" / "20260101_000000")
    lines: list[str] = []
    renders: list[int] = []
    stop = threading.Event()

    def render(r: Run) -> None:
        renders.append(sum(e["entries"] for e in read_manifest(r.cache_dir)[0].values()))

    loop = threading.Thread(target=watch_run, name="watch-loop", args=(run.path,), kwargs={
        "debounce_seconds": DEBOUNCE, "poll": poll, "poll_seconds": POLL, "render": render,
        "jobs": 1, "stop_event": stop, "on_status": lines.append})
    writer = Writer(sources, run.logs_dir, start_delay_seconds=0.3)
    loop.start()
    writer.start()
    try:
        writer.join()
        assert writer.error is None
        total = sum(int(s.stat().st_size > 0) for s in sources)
        wait_until(lambda: len(read_manifest(run.cache_dir)[0]) == total
                   and all(reads.of(s.name)[-1:] == ["ok"] for s in sources),
                   DEBOUNCE + 5, "every file cached ok")
        wait_until(lambda: renders and renders[-1] == 4 * 1024 - 512, DEBOUNCE + 5, "a render")
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()
    assert lines[0].startswith("waiting: ") and lines[-1] == "stopped"
    sizes = {s.name: s.stat().st_size for s in sources}
    for name, status, size in reads.calls:
        assert status != "ok" or size == sizes[name], f"{name} cached ok while incomplete"
    for source in sources:
        statuses = reads.of(source.name)
        assert statuses.count("ok") == 1 and len(statuses) <= 2, (source.name, statuses)


# ---------------------------------------------------------------------------
# The CLI as a subprocess, as a user runs it


def pokeviz_command(*args: str, slow_ingest_seconds: float = 0.0) -> list[str]:
    """``pokeviz ARGS`` with this interpreter; optionally every file read takes longer."""
    code = "from pokeviz.cli import main\nmain()"
    if slow_ingest_seconds:
        code = (
            "import time, pokeviz.cache as c\n"
            "read = c.ingest_file\n"
            "def slow(*a, **k):\n"
            f"    time.sleep({slow_ingest_seconds})\n"
            "    return read(*a, **k)\n"
            "c.ingest_file = slow\n" + code
        )
    return [sys.executable, "-c", code, *args]


class WatchProcess:
    """``pokeviz watch`` in a subprocess; its output goes to files the test can poll."""

    def __init__(self, tmp_path: Path, *args: str, slow_ingest_seconds: float = 0.0) -> None:
        self.out_path, self.err_path = tmp_path / "watch.out", tmp_path / "watch.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.process = subprocess.Popen(
                pokeviz_command("watch", *args, slow_ingest_seconds=slow_ingest_seconds),
                stdout=out, stderr=err,
            )

    @property
    def output(self) -> str:
        return self.out_path.read_text()

    def wait_for(self, pattern: str, timeout: float) -> float:
        return wait_until(lambda: re.search(pattern, self.output, re.M) is not None, timeout,
                          f"{pattern!r} in the output of pokeviz watch:\n{self.output}"
                          f"{self.err_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def sql_json(run_dir: Path, query: str) -> list[dict]:
    """``pokeviz sql --no-update``: what the cache holds now, without updating it."""
    result = subprocess.run(
        pokeviz_command("sql", str(run_dir), query, "--format", "json", "--no-update"),
        capture_output=True, text=True, check=False,
    )
    return json.loads(result.stdout) if result.returncode == 0 else []


@pytest.mark.parametrize("poll", [False, True], ids=["events", "poll"])
def test_cli_watch_end_to_end(tmp_path: Path, sources: list[Path], poll: bool) -> None:
    run_dir = tmp_path / "experiments" / "v4" / "20260101_000000"  # does not exist yet
    total = 4 * 1024 - 512
    map_data = write_map_table(tmp_path / "map_data.json")
    watch = WatchProcess(tmp_path, str(run_dir), "--debounce-seconds", str(DEBOUNCE),
                         "--poll-seconds", str(POLL), "--map-data", str(map_data), "-v",
                         *(["--poll"] if poll else []))
    writer = Writer(sources, run_dir / "json_logs", start_delay_seconds=0.0)
    try:
        watch.wait_for(r"^waiting: .* does not exist yet", 20)
        writer.start()
        writer.join()
        assert writer.error is None and writer.finished_at is not None
        query = "SELECT count(*) AS files, sum(entries) AS entries FROM files WHERE status = 'ok'"
        cached_after = wait_until(lambda: sql_json(run_dir, query) == [
            {"files": 4, "entries": total}], DEBOUNCE + 5, "every entry in pokeviz sql")
        # The figures drawn after the status line that shows every entry.
        rendered_after = watch.wait_for(
            rf"files 4 \(4 ok\)  entries {total:,}  steps 1 … {total:,}.*\n(.*\n)*?"
            r"\d\d:\d\d:\d\d  figures (updated|not updated)", DEBOUNCE + 5)
    finally:
        if writer.is_alive():
            writer.join()
        code = watch.stop()
    assert code == 0, watch.err_path.read_text()
    output = watch.output
    print(f"\n[{'poll' if poll else 'events'}] after the last write: cache complete in "
          f"<= {cached_after:.2f} s, figures in <= {rendered_after:.2f} s more")
    sizes = {s.name: s.stat().st_size for s in sources}
    reads = re.findall(r"^  read (\S+): (\w+), [\d,]+ entries, ([\d,]+) bytes$", output, re.M)
    assert {name for name, _, _ in reads} == set(sizes)
    for name, status, size in reads:  # every read is printed with -v: none ok while short
        assert status != "ok" or int(size.replace(",", "")) == sizes[name], (name, size)
    assert output.rstrip().endswith("stopped (SIGTERM)")
    plots = pytest.importorskip("pokeviz.plots")
    if not hasattr(plots, "plot_run"):
        pytest.skip("pokeviz.plots.plot_run is not written yet: the cache half passed")
    last_status = output.index(f"entries {total:,}")
    assert re.search(r"figures updated \(2 files\)", output[last_status:]), output
    figures = sorted(p.name for p in (run_dir / "plots").glob("*.png"))
    assert figures == ["v4_20260101_000000_heatmap.png", "v4_20260101_000000_rewards.png"]
    last_write = time.time() - (time.monotonic() - writer.finished_at)
    assert all((run_dir / "plots" / name).stat().st_mtime >= last_write for name in figures)


def test_sigterm_during_ingest_then_restart_equals_a_clean_cache(tmp_path: Path) -> None:
    made = synth_run(tmp_path / "a", files=10, envs=4, steps_per_env=256, seed=5)
    manifest_path = made.run_dir / "plots" / ".cache" / "manifest.json"
    watch = WatchProcess(tmp_path, str(made.run_dir), "--debounce-seconds", "0",
                         slow_ingest_seconds=0.4)
    try:
        watch.wait_for(r"catching up", 20)
        time.sleep(0.9)  # a few files are read (at 0.4 s each), most are not
        signalled = time.monotonic()
        code = watch.stop(signal.SIGTERM)
        exit_seconds = time.monotonic() - signalled
    finally:
        watch.stop(signal.SIGKILL)
    assert code == 0 and watch.output.rstrip().endswith("stopped (SIGTERM)")
    assert exit_seconds < 3.0
    cached = read_manifest(manifest_path.parent)[0] if manifest_path.exists() else {}
    assert len(cached) < 10, "SIGTERM came too late to interrupt the catch-up"
    restart = WatchProcess(tmp_path, str(made.run_dir), "--debounce-seconds", "0")
    try:
        restart.wait_for(r"files 10 \(10 ok\)", 30)
    finally:
        assert restart.stop(signal.SIGTERM) == 0
    run = Run(made.run_dir)
    after_restart = read_manifest(run.cache_dir)[0], views(run), sorted(
        p.name for p in (run.cache_dir / SIDECARS).iterdir())
    shutil.rmtree(run.cache_dir)
    update_cache(run)
    clean = read_manifest(run.cache_dir)[0], views(run), sorted(
        p.name for p in (run.cache_dir / SIDECARS).iterdir())
    assert after_restart == clean


def views(run: Run) -> dict[str, list]:
    con = connect(run)
    try:
        return {view: con.execute(f"SELECT * FROM {view}").fetchall()
                for view in ("files", "samples", "positions", "tiles", "file_stats")}
    finally:
        con.close()


def test_ctrl_c_stops_with_exit_130(tmp_path: Path) -> None:
    made = synth_run(tmp_path / "a", files=2, envs=2, steps_per_env=32)
    watch = WatchProcess(tmp_path, str(made.run_dir), "--debounce-seconds", "0")
    try:
        watch.wait_for(r"files 2 \(2 ok\)", 20)
        code = watch.stop(signal.SIGINT)
    finally:
        watch.stop(signal.SIGKILL)
    assert code == 130, watch.output + watch.err_path.read_text()
    assert "stopped (Ctrl-C)" in watch.err_path.read_text()
