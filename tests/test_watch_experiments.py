"""ExperimentsWatcher: every run under an experiments folder kept current, on real files, with
real observers; waits are on the callbacks, with a generous deadline."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from pokeviz.cache import CacheUpdate, read_manifest
from pokeviz.discover import Run
from pokeviz.errors import RunNotFoundError
from pokeviz.synth import synth_run
from pokeviz.watch import ExperimentsWatcher

from .watch_support import Writer, payload, wait_until

pytestmark = pytest.mark.usefixtures("no_leaked_threads")


class Updates:
    """What the watcher reported through its callbacks, with when each arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.updates: list[tuple[Path, list[str], int, float]] = []
        self.errors: list[str] = []

    def on_update(self, run: Run, update: CacheUpdate) -> None:
        with self._lock:
            self.updates.append((run.path, list(update.ingested), update.removed,
                                 time.monotonic()))

    def on_error(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)

    def read(self, run: Path, name: str) -> float | None:
        """When ``name`` of ``run`` was first reported read, or None."""
        with self._lock:
            return next((at for path, names, _, at in self.updates
                         if path == run and name in names), None)


@pytest.mark.parametrize("poll", [False, True], ids=["events", "poll"])
def test_every_run_is_caught_up_and_new_files_and_runs_appear(tmp_path: Path, poll: bool) -> None:
    experiments = tmp_path / "experiments"
    a = synth_run(experiments, variant="v1", files=3, envs=2, steps_per_env=32, seed=1)
    b = synth_run(experiments, variant="v4", files=2, envs=2, steps_per_env=32, seed=2)
    extra = synth_run(tmp_path / "src", files=2, envs=2, steps_per_env=32, seed=3, final=False)
    seen = Updates()
    watcher = ExperimentsWatcher(experiments, debounce_seconds=0.5, poll=poll, poll_seconds=0.3,
                                 on_update=seen.on_update, on_error=seen.on_error)
    watcher.start()
    try:
        wait_until(watcher.caught_up.is_set, "every run caught up")
        assert [r.path for r in watcher.runs()] == sorted([a.run_dir.resolve(),
                                                           b.run_dir.resolve()])
        for made, files in ((a, 3), (b, 2)):
            assert len(read_manifest(Run(made.run_dir).cache_dir)[0]) == files
        # A writer adds a log file to a run, slowly, like training does.
        name = "stats_1900000000.json"
        (tmp_path / name).write_bytes(extra.files[0].read_bytes())
        writer = Writer([tmp_path / name], a.run_dir / "json_logs")
        writer.start()
        writer.join()
        assert writer.error is None and writer.finished_at is not None
        wait_until(lambda: seen.read(a.run_dir.resolve(), name) is not None,
                   "the new file in an update")
        in_cache = seen.read(a.run_dir.resolve(), name) - writer.finished_at
        print(f"\n[{'poll' if poll else 'events'}] new file in the cache {in_cache:.2f} s after "
              "it was closed (debounce 0.5 s)")
        assert read_manifest(Run(a.run_dir).cache_dir)[0][name]["status"] == "ok"
        # A new variant with a new run appears.
        new_run = experiments / "v9" / "20260301_000000"
        (new_run / "json_logs").mkdir(parents=True)
        (new_run / "json_logs" / "stats_1.json").write_bytes(payload(0))
        wait_until(lambda: seen.read(new_run.resolve(), "stats_1.json") is not None,
                   "the new run's file in an update")
        assert new_run.resolve() in [r.path for r in watcher.runs()]
        # A run deleted while watched is dropped, and its cache is not recreated.
        shutil.rmtree(b.run_dir)
        wait_until(lambda: b.run_dir.resolve() not in [r.path for r in watcher.runs()],
                   "the deleted run to be dropped")
    finally:
        watcher.stop()
    assert not b.run_dir.exists()
    assert seen.errors == [] or all(str(b.run_dir.resolve()) in e for e in seen.errors)


def test_a_grown_partial_file_is_read_again(tmp_path: Path) -> None:
    experiments = tmp_path / "experiments"
    made = synth_run(experiments, files=1, envs=2, steps_per_env=32, seed=4)
    path = made.run_dir / "json_logs" / "stats_1800000000.json"
    data = payload(1)
    path.write_bytes(data[: len(data) // 2])  # training stalled mid-file
    seen = Updates()
    with ExperimentsWatcher(experiments, debounce_seconds=0.2, poll_seconds=0.2,
                            on_update=seen.on_update) as watcher:
        wait_until(watcher.caught_up.is_set, "the catch-up")
        cache_dir = Run(made.run_dir).cache_dir
        assert read_manifest(cache_dir)[0][path.name]["status"] == "partial"
        with open(path, "ab") as handle:
            handle.write(data[len(data) // 2 :])
        wait_until(lambda: read_manifest(cache_dir)[0][path.name]["status"] == "ok",
                   "the grown file cached ok")
    assert sum(path.name in names for _, names, _, _ in seen.updates) == 2  # partial, then ok


def test_start_needs_an_existing_folder_and_stop_is_safe_twice(tmp_path: Path) -> None:
    watcher = ExperimentsWatcher(tmp_path / "missing")
    with pytest.raises(RunNotFoundError, match="no such experiments folder"):
        watcher.start()
    watcher.stop()
    watcher.stop()
