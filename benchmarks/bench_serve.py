"""``pokeviz serve`` benchmark rows: warm API routes, page interactive, log file → page.

Plugin for ``benchmarks/run.py``: :func:`measure` returns one row per measured route,
``{"route", "seconds", "rss_mb", "target_ratio", "target_rss_mb", "note"}``; ``seconds``
is a median over ``repeat`` and ``target_ratio`` the issue's target as a ratio to the
one-pass DuckDB peer (None: reported, no target). Every server is a real ``pokeviz
serve`` process on 127.0.0.1; ``rss_mb`` is its peak resident set (``VmHWM``).

Usage alone: ``python benchmarks/bench_serve.py RUN EXPERIMENTS [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

#: The API routes of one run, timed warm (``{base}`` is ``/api/runs/<variant>/<run>``).
RUN_ROUTES = ("{base}/rewards", "{base}/heatmap", "{base}/tiles", "{base}/positions",
              "{base}/files", "{base}/columns", "{base}/metrics/health", "{base}/config")
#: Small runs of the 4 variants × 3 runs page case (not copies of the big run: 12 copies
#: of 1.2 GB would not fit the bench's disk budget).
PAGE_VARIANTS, PAGE_RUNS = ("v1", "v2", "v3", "v4"), 3
PAGE_RUN_SIZE = {"files": 10, "envs": 4, "steps_per_env": 128}
DEADLINE_SECONDS = 120.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


class Serve:
    """A ``pokeviz serve`` process on a free port of 127.0.0.1."""

    def __init__(self, pokeviz: list[str], folder: Path, *extra: str) -> None:
        self.process = subprocess.Popen([*pokeviz, "serve", str(folder), "--port", "0", *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + DEADLINE_SECONDS
        self.url = ""
        for line in self.process.stdout:
            match = re.match(r"^open +(http://\S+)$", line.strip())
            if match:
                self.url = match.group(1).rstrip("/")
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            self.process.kill()
            raise RuntimeError(f"pokeviz serve {folder} did not start")

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=DEADLINE_SECONDS) as response:
            return response.read()

    def peak_rss_mb(self) -> float:
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", text).group(1)) / 1024

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _median_time(call, repeat: int) -> float:
    times = []
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def api_rows(run: Path, pokeviz: list[str], repeat: int) -> list[dict]:
    """``/api/runs`` and each figure route of ``run``, warm (second and later calls)."""
    subprocess.run([*pokeviz, "ingest", str(run)], check=True, capture_output=True)
    server = Serve(pokeviz, run.parent.parent, "--no-watch")
    base = f"/api/runs/{run.parent.name}/{run.name}"
    rows = []
    try:
        for route in ("/api/runs", *(r.format(base=base) for r in RUN_ROUTES),
                      "/api/compare?metric=reward_total"):
            started = time.perf_counter()
            size = len(server.get(route))
            cold = time.perf_counter() - started
            rows.append({"route": f"serve GET {route.replace(base, '/api/runs/RUN')}",
                         "seconds": _median_time(lambda r=route: server.get(r), repeat),
                         "rss_mb": server.peak_rss_mb(), "target_ratio": 0.05,
                         "target_rss_mb": 300,
                         "note": f"warm; first call {cold:.2f} s; {size:,} bytes"})
    finally:
        server.stop()
    return rows


def page_experiments(experiments: Path, pokeviz: list[str]) -> Path:
    """4 variants × 3 small synthetic runs under ``experiments/serve_page``, cached."""
    from pokeviz.synth import synth_experiments

    folder = experiments / "serve_page"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        made = synth_experiments(folder, variants=PAGE_VARIANTS, runs=PAGE_RUNS,
                                 **PAGE_RUN_SIZE)
        for r in made:
            subprocess.run([*pokeviz, "ingest", str(r.run_dir)], check=True,
                           capture_output=True)
        marker.write_text("ok\n")
    return folder


def page_rows(experiments: Path, pokeviz: list[str], repeat: int) -> list[dict]:
    """Page interactive after opening (12 runs), and log file closing → page showing it."""
    from playwright.sync_api import sync_playwright

    from pokeviz.synth import synth_run

    folder = page_experiments(experiments, pokeviz)
    rows = []
    server = Serve(pokeviz, folder, "--debounce-seconds", "1")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # One browser profile, as a user who opens the page again: its HTTP and code
            # caches hold plotly.js after the first visit (the first open is in the note).
            context = browser.new_context(viewport={"width": 1400, "height": 1000})

            listed: list[float] = []

            def open_page():
                page = context.new_page()
                started = time.perf_counter()
                page.goto(server.url + "/", timeout=DEADLINE_SECONDS * 1000)
                page.wait_for_function("document.body.dataset.listed === '1'",
                                       timeout=DEADLINE_SECONDS * 1000)
                listed.append(time.perf_counter() - started)
                page.wait_for_function("document.body.dataset.ready === '1'",
                                       timeout=DEADLINE_SECONDS * 1000)
                return page

            first = _median_time(lambda: open_page().close(), 1)
            listed.clear()
            seconds = _median_time(lambda: open_page().close(), repeat)
            n = len(PAGE_VARIANTS) * PAGE_RUNS
            rows.append({"route": f"serve page interactive, run list ({n} runs)",
                         "seconds": statistics.median(listed), "rss_mb": server.peak_rss_mb(),
                         "target_ratio": 0.5, "target_rss_mb": 300,
                         "note": "goto → run list usable (plotly.js still loading)"})
            rows.append({"route": f"serve page interactive, chart drawn ({n} runs)",
                         "seconds": seconds,
                         "rss_mb": server.peak_rss_mb(), "target_ratio": 0.5,
                         "target_rss_mb": 300,
                         "note": f"goto → run list + reward chart drawn, browser caches "
                                 f"warm; first open {first:.2f} s; {len(PAGE_VARIANTS)} "
                                 "variants × "
                                 f"{PAGE_RUNS} small synth runs of "
                                 f"{PAGE_RUN_SIZE['files']} files (not the big run)"})

            page = open_page()
            entries = page.evaluate("Number(document.getElementById('run-stats')"
                                    ".dataset.entries)")
            newest = sorted((folder / "v4").iterdir())[-1]
            target = newest / "json_logs" / f"stats_{int(time.time())}.json"
            # The new log file is made in a temporary folder, never beside the
            # experiments folder, and taken out of the served run whatever happens.
            with tempfile.TemporaryDirectory(prefix="pokeviz-bench-serve-") as scratch:
                source = synth_run(Path(scratch), variant="v4",
                                   files=PAGE_RUN_SIZE["files"] + 1,
                                   envs=PAGE_RUN_SIZE["envs"],
                                   steps_per_env=PAGE_RUN_SIZE["steps_per_env"],
                                   final=False).files[-1]
                try:
                    shutil.copyfile(source, target.with_suffix(".part"))
                    closed = time.perf_counter()
                    target.with_suffix(".part").rename(target)
                    page.wait_for_function(f"Number(document.getElementById('run-stats')"
                                           f".dataset.entries) > {entries}",
                                           timeout=DEADLINE_SECONDS * 1000)
                    shown = time.perf_counter() - closed
                finally:
                    target.unlink(missing_ok=True)
                    target.with_suffix(".part").unlink(missing_ok=True)
            rows.append({"route": "serve log file closed → page shows it", "seconds": shown,
                         "rss_mb": server.peak_rss_mb(), "target_ratio": None,
                         "target_rss_mb": 300,
                         "note": "watching, --debounce-seconds 1; new complete file renamed "
                                 "into json_logs/ until the page's entry count grows"})
            browser.close()
    finally:
        server.stop()
    return rows


def measure(run: Path, experiments: Path, pokeviz: list[str], repeat: int) -> list[dict]:
    """Every serve row (see the module docstring).

    Args:
        run: the bench run (a run folder; its parent's parent is served, --no-watch).
        experiments: a scratch folder for the 4 × 3 page case (kept for reuse).
        pokeviz: the command that runs pokeviz, e.g. ``[sys.executable, "-m", "pokeviz"]``.
        repeat: timed repetitions per row (median).
    """
    return api_rows(Path(run), pokeviz, repeat) + page_rows(Path(experiments), pokeviz, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("experiments", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for row in measure(args.run, args.experiments, [sys.executable, "-m", "pokeviz"],
                       args.repeat):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
