"""watch: the handler, the readiness policy and the watcher, with made-up events and
clocks (no sleeps, no timing), on real log files and a real cache."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from watchdog.events import (
    DirCreatedEvent,
    DirModifiedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from pokeviz.api import update_run
from pokeviz.cache import SIDECARS, read_manifest
from pokeviz.cli import main
from pokeviz.discover import Run
from pokeviz.errors import RunNotFoundError
from pokeviz.watch import (
    LogEventHandler,
    RunWatcher,
    confirmed_losses,
    confirmed_removals,
    find_run,
    ready_files,
    render_figures,
)

from .watch_support import (
    DEADLINE_SECONDS,
    Reads,
    cut,
    empty_run,
    payload,
    pokeviz_command,
    status_lines,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("no_leaked_threads")


def make_watcher(run: Run, **kwargs: Any) -> tuple[RunWatcher, list[str], list[int]]:
    """A watcher with jobs=1, a render that records the cached entry count, a fixed clock,
    drawing inside ``tick`` (so every test step is deterministic)."""
    lines: list[str] = []
    renders: list[int] = []

    def render(r: Run) -> None:
        renders.append(sum(e["entries"] for e in read_manifest(r.cache_dir)[0].values()))

    options = {"debounce_seconds": 10.0, "poll_seconds": 1.0, "jobs": 1, "on_status": lines.append,
               "wall_clock": lambda: 0.0, "render": render, "redraw_in": "inline"}
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
    assert watcher.tick(12.0).update is None  # one listing lacks it: not removed yet
    tick = watcher.tick(100.0)  # the next periodic check's listing agrees
    assert tick.update is not None and tick.update.removed == 1
    assert "files 2 (2 ok)  entries 120" in lines[-1] and "removed 1" in lines[-1]
    assert not watcher.tick(109.9).rendered
    assert watcher.tick(110.0).rendered and renders == [60, 180, 120]


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
        return SimpleNamespace(report=SimpleNamespace(update=update_run(r, jobs=1)))

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




def test_handler_records_names_per_folder_and_folder_events() -> None:
    handler = LogEventHandler()
    a, b = "/exp/v4/20260101_000000/json_logs", "/exp/v1/20260101_000000/json_logs"
    handler.dispatch(FileClosedEvent(f"{a}/stats_1.json"))
    handler.dispatch(FileModifiedEvent(f"{b}/stats_2.json"))
    handler.dispatch(FileClosedEvent(f"{b}/stats_3.json"))
    assert not handler.folders_changed.is_set()
    handler.dispatch(DirCreatedEvent("/exp/v2"))
    assert handler.folders_changed.is_set() and handler.wake.is_set()
    by_folder = handler.take_by_folder()
    assert by_folder[a].finished == {"stats_1.json"} and by_folder[a].written == frozenset()
    assert by_folder[b].finished == {"stats_3.json"} and by_folder[b].written == {"stats_2.json"}
    assert handler.take_by_folder() == {}


# ---------------------------------------------------------------------------
# The readiness policy: a pure function of versions, events and checks


def test_ready_files_follows_the_written_policy() -> None:
    changed = {"closed.json": (10, 1), "stable.json": (20, 2), "grew.json": (30, 3),
               "complete.json": (40, 4), "new.json": (50, 5)}
    asked: list[str] = []

    def complete(name: str) -> bool:
        asked.append(name)
        return name == "complete.json"

    seen = {"stable.json": (20, 2), "grew.json": (29, 3)}
    result = ready_files(changed, finished={"closed.json"}, check=True, seen_at_check=seen,
                         looks_complete=complete)
    assert result.ready == {"closed.json", "stable.json", "complete.json"}
    assert result.seen_at_check == {"grew.json": (30, 3), "new.json": (50, 5)}
    assert sorted(asked) == ["complete.json", "grew.json", "new.json"]  # only undecided files
    # Between checks "stable" cannot be decided, and what was seen is kept for the next check.
    between = ready_files(changed, finished=(), check=False, seen_at_check=seen,
                          looks_complete=lambda name: False)
    assert between.ready == frozenset() and between.seen_at_check == seen


def test_removal_needs_two_listings_that_agree() -> None:
    cached = {"a.json", "b.json", "c.json"}
    assert confirmed_removals(cached, set(), None) == frozenset()  # first listing: unknown
    assert confirmed_removals(cached, {"a.json"}, cached) == frozenset()
    assert confirmed_removals(cached, {"a.json"}, {"a.json", "c.json"}) == {"b.json"}
    assert confirmed_removals(cached, set(), {"a.json"}) == {"b.json", "c.json"}


def test_a_lost_cache_is_rebuilt_only_when_two_checks_agree() -> None:
    assert confirmed_losses({"a.json"}, None) == frozenset()  # not a periodic check
    assert confirmed_losses({"a.json", "b.json"}, set()) == frozenset()  # first check
    assert confirmed_losses({"a.json", "b.json"}, {"b.json", "c.json"}) == {"b.json"}


# ---------------------------------------------------------------------------
# Hardening: listing failures, a deleted run, paths that can never be a run


@pytest.fixture
def unlistable(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Folders in this set cannot be listed, as after ``chmod 000`` (tests run as root,
    where chmod does not stop a listing)."""
    blocked: set[str] = set()
    scandir = os.scandir

    def guarded(path: Any = ".") -> Any:
        if os.fspath(path) in blocked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", guarded)
    yield blocked


def test_an_unreadable_json_logs_removes_nothing(
    tmp_path: Path, reads: Reads, unlistable: set[str]
) -> None:
    run = empty_run(tmp_path)
    for index in range(3):
        (run.logs_dir / f"stats_{index + 1}.json").write_bytes(payload(index))
    watcher, lines, _ = make_watcher(run, poll_seconds=1.0)
    watcher.catch_up(0.0)
    sidecars = sorted((run.cache_dir / SIDECARS).iterdir())
    assert len(watcher.cached) == 3 and sidecars
    unlistable.add(str(run.logs_dir))
    for now in (1.0, 2.0, 3.0):  # a few seconds of checks while it cannot be listed
        watcher.tick(now)
    assert sum("cannot be listed" in line for line in lines) == 1, lines
    assert not any("removed 3" in line for line in lines)
    assert len(read_manifest(run.cache_dir)[0]) == 3
    assert sorted((run.cache_dir / SIDECARS).iterdir()) == sidecars
    unlistable.clear()
    for now in (4.0, 5.0, 6.0):
        assert watcher.tick(now).update is None  # readable again: nothing to read or drop
    assert len(reads.calls) == 3  # no file was read again


def test_a_folder_that_looks_empty_for_one_listing_removes_nothing(tmp_path: Path) -> None:
    run = empty_run(tmp_path)
    for index in range(3):
        (run.logs_dir / f"stats_{index + 1}.json").write_bytes(payload(index))
    watcher, lines, _ = make_watcher(run, poll_seconds=1.0)
    watcher.catch_up(0.0)
    watcher.tick(1.0)
    away = run.path / "json_logs.away"
    run.logs_dir.rename(away)  # a network file system showing an empty folder for a moment
    run.logs_dir.mkdir()
    assert watcher.tick(2.0).update is None
    run.logs_dir.rmdir()
    away.rename(run.logs_dir)
    assert watcher.tick(3.0).update is None
    assert len(read_manifest(run.cache_dir)[0]) == 3
    assert not any("removed" in line and "removed 0" not in line for line in lines)


def test_deleting_the_run_while_watching_never_recreates_it(tmp_path: Path) -> None:
    """``rm -rf RUN`` half way: plots/ is gone, log files are going, one was just written."""
    run = empty_run(tmp_path)
    names = [f"stats_{index + 1}.json" for index in range(3)]
    for index, name in enumerate(names):
        (run.logs_dir / name).write_bytes(payload(index))
    watcher, lines, renders = make_watcher(run, debounce_seconds=0.5)
    watcher.catch_up(0.0)
    assert watcher.tick(0.0).rendered and renders == [180]
    shutil.rmtree(run.plots_dir)
    (run.logs_dir / names[0]).write_bytes(payload(5))  # training's last write, closed now
    feed(watcher, FileClosedEvent(str(run.logs_dir / names[0])))
    for name in names[1:]:
        (run.logs_dir / name).unlink()
        feed(watcher, FileDeletedEvent(str(run.logs_dir / name)))
    assert watcher.tick(0.2).update is None  # writing now would recreate plots/
    shutil.rmtree(run.logs_dir)  # rm -rf goes on, and removes RUN once it is empty
    with contextlib.suppress(OSError):
        run.path.rmdir()
    for now in (0.3, 1.0, 2.0, 3.0):
        watcher.tick(now)
    assert not run.path.exists(), sorted(p for p in run.path.rglob("*"))
    assert renders == [180]
    assert sum("no json_logs/ folder" in line for line in lines) == 1, lines


def test_clearing_plots_while_watching_rebuilds_the_cache_at_a_later_check(
    tmp_path: Path,
) -> None:
    run = empty_run(tmp_path)
    (run.logs_dir / "stats_1.json").write_bytes(payload(0))
    watcher, lines, _ = make_watcher(run, poll_seconds=1.0)
    watcher.catch_up(0.0)
    shutil.rmtree(run.plots_dir)  # the user clears the figures and the cache on purpose
    (run.logs_dir / "stats_2.json").write_bytes(payload(1))
    feed(watcher, FileClosedEvent(str(run.logs_dir / "stats_2.json")))
    assert watcher.tick(0.5).update is None
    assert watcher.tick(1.0).update is None  # the first check that sees plots/ gone
    tick = watcher.tick(2.0)  # the next check still finds the run: write
    assert sorted(tick.read) == ["stats_1.json", "stats_2.json"]  # the cache was gone too
    assert set(read_manifest(run.cache_dir)[0]) == {"stats_1.json", "stats_2.json"}


def test_a_fifo_named_like_a_log_never_blocks_the_watcher(tmp_path: Path) -> None:
    run = empty_run(tmp_path)
    (run.logs_dir / "stats_1.json").write_bytes(payload(0))
    watcher, lines, _ = make_watcher(run, poll_seconds=1.0)
    watcher.catch_up(0.0)
    fifo = run.logs_dir / "stats_2.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    feed(watcher, FileCreatedEvent(str(fifo)), FileClosedEvent(str(fifo)))
    ticks = threading.Thread(target=lambda: [watcher.tick(now) for now in (0.5, 1.0, 2.0)],
                             name="ticks", daemon=True)
    ticks.start()
    ticks.join(DEADLINE_SECONDS)
    assert not ticks.is_alive(), "the watcher blocked on a FIFO"
    assert watcher.cached["stats_2.json"]["status"] == "error"
    assert "problems 1: stats_2.json error" in lines[-1]


@pytest.mark.parametrize("where", ["a regular file", "a path below a log file"])
def test_watch_fails_at_once_on_a_path_that_can_never_be_a_run(
    tmp_path: Path, where: str
) -> None:
    log = tmp_path / "v4" / "20260101_000000" / "json_logs" / "stats_1.json"
    log.parent.mkdir(parents=True)
    log.write_bytes(payload(0))
    path = log if where == "a regular file" else log / "json_logs"
    result = subprocess.run(pokeviz_command("watch", str(path)), capture_output=True,
                            text=True, timeout=DEADLINE_SECONDS, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: {path}: ") and "pass a run or variant directory" in line
    with pytest.raises(RunNotFoundError):
        find_run(path)


# ---------------------------------------------------------------------------
# Redraws in the background: reading goes on while the figures are drawn


def slow_render(folder: Path, run: Run) -> SimpleNamespace:
    """A renderer that reads the cache, says so (``started-<n>``: n files cached), then
    draws until the test creates ``folder/release``. Module-level: a worker process can
    run it."""
    seen = len(read_manifest(run.cache_dir)[0])  # a renderer reads the cache first
    (folder / f"started-{seen}").touch()
    wait_until((folder / "release").exists, "the test to release the redraw")
    return SimpleNamespace(paths=["a.png", "b.png"])


@pytest.mark.parametrize("redraw_in", ["thread", "process"])
def test_a_file_finished_during_a_redraw_is_read_before_the_redraw_ends(
    tmp_path: Path, reads: Reads, redraw_in: str
) -> None:
    run = empty_run(tmp_path)
    (run.logs_dir / "stats_1.json").write_bytes(payload(0))
    signals = tmp_path / "signals"
    signals.mkdir()
    watcher, lines, _ = make_watcher(run, render=functools.partial(slow_render, signals),
                                     redraw_in=redraw_in, debounce_seconds=0.0)
    try:
        watcher.catch_up(0.0)
        assert not watcher.tick(0.0).rendered  # the redraw started and is still running
        wait_until((signals / "started-1").exists, "the redraw to start")
        (run.logs_dir / "stats_2.json").write_bytes(payload(1))
        feed(watcher, FileClosedEvent(str(run.logs_dir / "stats_2.json")))
        tick = watcher.tick(1.0)
        assert tick.read == ["stats_2.json"] and not tick.rendered
        assert reads.of("stats_2.json") == ["ok"] and not (signals / "release").exists()
        assert lines[-1].endswith("files 2 (2 ok)  entries 120  steps 1 … 120  read 1, "
                                  "removed 0  problems 0")
        # A redraw is due, but it waits for the running one: only the next check counts.
        assert watcher.seconds_until_due(1.0) == pytest.approx(1.0)
        (signals / "release").touch()  # the running redraw ends and wakes the loop

        def redraws_reported() -> int:
            watcher.tick(2.0)
            return sum("  figures updated (2 files) in " in line for line in lines)

        # The first redraw, then a second one for the new file (which may end so fast that
        # one tick reports both).
        wait_until(lambda: redraws_reported() == 2, "both redraws to end")
        assert watcher.seconds_until_due(2.0) == pytest.approx(1.0)  # no redraw due
        assert (signals / "started-2").exists()  # the second redraw shows the new file
    finally:
        (signals / "release").touch()
        watcher.close()


# ---------------------------------------------------------------------------
# One status line per update


def test_one_status_line_per_update(tmp_path: Path) -> None:
    run = empty_run(tmp_path)
    watcher, lines, _ = make_watcher(run, debounce_seconds=0.0, poll_seconds=1.0)
    watcher.catch_up(0.0)
    now = 0.0
    for index in range(3):
        path = run.logs_dir / f"stats_{index + 1}.json"
        path.write_bytes(payload(index))
        feed(watcher, FileCreatedEvent(str(path)), FileModifiedEvent(str(path)),
             FileClosedEvent(str(path)))
        for _ in range(3):  # the event tick, then periodic checks with nothing new
            now += 1.0
            watcher.tick(now)
    shown = status_lines(lines)
    assert shown == [
        "files 0  entries 0  steps none  read 0, removed 0  problems 0",
        "files 1 (1 ok)  entries 60  steps 1 … 60  read 1, removed 0  problems 0",
        "files 2 (2 ok)  entries 120  steps 1 … 120  read 1, removed 0  problems 0",
        "files 3 (3 ok)  entries 180  steps 1 … 180  read 1, removed 0  problems 0",
    ], lines
    assert sum("figures updated" in line for line in lines) == 3
