"""Shared helpers of the watch tests: thread-leak check, read counting, slow writers, and
waiting for a condition with a generous deadline (never for a fixed time)."""

from __future__ import annotations

import importlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pokeviz.discover import Run

from .conftest import nested_entries

#: The module (``pokeviz.ingest`` the attribute is the ``ingest`` function of the api).
INGEST_MODULE = importlib.import_module("pokeviz.ingest")

#: Longest any test waits for a condition; waits return as soon as it holds, so this
#: only matters when something is broken (or the machine is very busy).
DEADLINE_SECONDS = 120.0


def thread_leak_check() -> Iterator[None]:
    """Fail a test that leaves a thread running (observers must be stopped and joined).

    The body of the ``no_leaked_threads`` fixture (``tests/conftest.py``)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leaked:  # a thread that is finishing gets time; a leaked one does not end
        thread.join(timeout=DEADLINE_SECONDS / len(leaked))
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


class Reads:
    """Every ``ingest_file`` call of this process: (name, status, size_bytes)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        #: The entry count of every ``ok`` read, per file name.
        self.ok_entries: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def of(self, name: str) -> list[str]:
        with self._lock:
            return [status for n, status, _ in self.calls if n == name]


def count_reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Count the cache's reads of log files (use ``jobs=1`` so they happen here)."""
    record = Reads()
    original = INGEST_MODULE.ingest_file

    def counting(path: Any, **kwargs: Any) -> Any:
        summary = original(path, **kwargs)
        with record._lock:
            record.calls.append((summary.file, summary.status, summary.size_bytes))
            if summary.status == "ok":
                record.ok_entries.setdefault(summary.file, []).append(summary.entries)
        return summary

    monkeypatch.setattr(INGEST_MODULE, "ingest_file", counting)
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


def wait_until(condition: Callable[[], bool], what: str,
               timeout: float = DEADLINE_SECONDS) -> float:
    """Poll ``condition`` until true; return the seconds waited (AssertionError after
    ``timeout``, which is generous: it bounds a broken test, not a slow machine)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


class Writer(threading.Thread):
    """Copies log files into a run in ``chunks`` writes, like a slow ``json.dump``."""

    def __init__(self, sources: list[Path], logs_dir: Path, *, chunks: int = 5,
                 gap_seconds: float = 0.05) -> None:
        super().__init__(name="log-writer")
        self.sources, self.logs_dir, self.chunks = sources, logs_dir, chunks
        self.gap_seconds = gap_seconds
        self.finished_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            for source in self.sources:
                data = source.read_bytes()
                step = -(-len(data) // self.chunks)
                with open(self.logs_dir / source.name, "wb") as handle:
                    for start in range(0, len(data), step):
                        handle.write(data[start : start + step])
                        handle.flush()
                        time.sleep(self.gap_seconds)  # the writer's pace, not a sync point
            self.finished_at = time.monotonic()
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def pokeviz_command(*args: str, slow_ingest_seconds: float = 0.0) -> list[str]:
    """``pokeviz ARGS`` with this interpreter; optionally every file read takes longer."""
    code = "from pokeviz.cli import main\nmain()"
    if slow_ingest_seconds:
        code = (
            "import importlib, time\n"
            "c = importlib.import_module('pokeviz.ingest')\n"
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

    def wait_for(self, pattern: str, timeout: float = DEADLINE_SECONDS) -> float:
        return wait_until(lambda: re.search(pattern, self.output, re.M) is not None,
                          f"{pattern!r} in the output of pokeviz watch:\n{self.output}"
                          f"{self.err_path.read_text()}", timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = DEADLINE_SECONDS) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def status_lines(lines: list[str]) -> list[str]:
    """The status lines of a watch output, without their ``HH:MM:SS`` time."""
    return [line[10:] for line in lines if re.match(r"^\d\d:\d\d:\d\d  files ", line)]
