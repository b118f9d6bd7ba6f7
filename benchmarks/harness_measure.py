"""Timing one process and the memory of its process tree (wall time, max RSS, tree PSS).

``max RSS`` is the largest resident set of any single process of the route
(``ru_maxrss`` from ``wait4``, which covers the process and its waited-for children: GNU
``time -v`` semantics); ``tree PSS`` is the peak of the summed proportional set size of
the whole process tree, sampled from ``/proc/<pid>/smaps_rollup`` every 50 ms (PSS splits
shared pages between processes, so the sum is the memory actually used).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

MB = 1024 * 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the summed PSS of a process and all its descendants every ``interval``."""

    def __init__(self, pid: int, interval_seconds: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval_seconds = interval_seconds
        self.peak_bytes = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            tree = _children()
            pids, todo = [], [self.pid]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo.extend(tree.get(pid, ()))
            total = sum(_pss_bytes(pid) for pid in pids)
            self.peak_bytes = max(self.peak_bytes, total)
            self.stopped.wait(self.interval_seconds)


@dataclass
class Sample:
    """One timed run of one command."""

    wall_seconds: float
    max_rss_bytes: int
    tree_pss_bytes: int
    output: str


class CommandFailed(RuntimeError):
    """A measured command exited with an error."""


def measure(command: list[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``command`` to completion; its wall time and the peak memory of its tree.

    Raises:
        CommandFailed: the command exited non-zero (the message holds its output).
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        sampler.stopped.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if proc.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-3:])
        raise CommandFailed(f"{' '.join(command)} exited {proc.returncode}: {tail}")
    return Sample(wall, usage.ru_maxrss * 1024, sampler.peak_bytes, output)


@dataclass
class Route:
    """The samples of one route, or why it could not be measured."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    def add(self, command: list[str], env: dict[str, str] | None = None) -> Sample | None:
        """Measure ``command`` once more; a failure is recorded, not raised."""
        if self.error is not None:
            return None
        try:
            sample = measure(command, env)
        except CommandFailed as exc:
            self.error = str(exc)
            return None
        self.samples.append(sample)
        return sample

    @property
    def wall(self) -> float | None:
        if not self.samples:
            return None
        return statistics.median(s.wall_seconds for s in self.samples)

    @property
    def max_rss_mb(self) -> float | None:
        return max((s.max_rss_bytes / MB for s in self.samples), default=None)

    @property
    def tree_pss_mb(self) -> float | None:
        return max((s.tree_pss_bytes / MB for s in self.samples), default=None)

    @property
    def outputs(self) -> list[str]:
        return [s.output for s in self.samples]
