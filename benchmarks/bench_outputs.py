"""Benchmark rows for the shareable outputs: ``pokeviz report``, ``animate`` and HTML size.

``measure(run, experiments, pokeviz, repeat)`` times, as separate processes on a run
whose cache is complete:

* ``pokeviz report RUN`` (warm: nothing to ingest) — target ≤ 2× the DuckDB peer;
* ``pokeviz animate RUN`` (MP4, one frame per log file: 40 on the bench run) — target
  ≤ 10× the DuckDB peer;
* ``pokeviz plot RUN --format html`` — the size of each HTML page (target ≤ 15 MB).

Every row has the median wall time over ``repeat`` runs and the largest resident set of
one process of the route (``ru_maxrss`` from ``wait4``, which includes the waited-for
children such as ffmpeg: GNU ``time -v`` semantics), maximum over the runs; the memory
target is 400 MB. The harness (``benchmarks/run.py``) divides the times by its DuckDB
peer's. Run alone: ``python benchmarks/bench_outputs.py RUN [--repeat K]`` prints the rows
as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1024 * 1024
#: Targets from the project's performance goals (ratios to the DuckDB peer).
REPORT_TARGET_RATIO = 2.0
ANIMATE_TARGET_RATIO = 10.0
TARGET_RSS_MB = 400.0
HTML_TARGET_MB = 15.0


def _run(command: list[str]) -> tuple[float, float, str]:
    """Run ``command``; (wall seconds, max RSS in MB of one process, output)."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        output = out.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({code}):\n{output}")
    return wall, usage.ru_maxrss / 1024, output  # ru_maxrss is in KiB on Linux


def _repeat(command: list[str], repeat: int) -> tuple[float, float, str]:
    samples = [_run(command) for _ in range(max(1, repeat))]
    return (statistics.median(s[0] for s in samples), max(s[1] for s in samples),
            samples[-1][2])


def _map_option(run: Path, experiments: Path) -> list[str]:
    """``--map-data`` of the bench's synthetic table when there is one."""
    for folder in (experiments, run.parent.parent):
        table = folder / "map_data.json"
        if table.is_file():
            return ["--map-data", str(table)]
    return []


def measure(run: Path, experiments: Path, pokeviz: list[str], repeat: int) -> list[dict]:
    """Time ``report`` (warm), ``animate`` and the HTML size of ``plot --format html``.

    Args:
        run: the bench run (its cache is brought up to date first, untimed).
        experiments: the experiments folder holding it (for its map table).
        pokeviz: how to call the CLI, e.g. ``[".venv/bin/pokeviz"]``.
        repeat: runs per route (median wall time, max RSS).

    Returns:
        Rows ``{"route", "seconds", "rss_mb", "target_ratio", "target_rss_mb", "note"}``;
        ``target_ratio`` is the allowed multiple of the DuckDB peer's time (None for the
        HTML row, whose target is its size: its ``ok`` says whether every page is within
        it, and ``note`` lists the sizes).
    """
    run, experiments = Path(run), Path(experiments)
    maps = _map_option(run, experiments)
    _run([*pokeviz, "ingest", str(run)])  # warm: the routes below read no log file
    rows = []
    with tempfile.TemporaryDirectory(prefix="pokeviz-bench-outputs-") as tmp:
        seconds, rss, output = _repeat(
            [*pokeviz, "report", str(run), *maps, "--output-dir", tmp], repeat)
        pages = next((line.split()[1] for line in output.splitlines()
                      if line.startswith("report ")), "?")
        rows.append({"route": "pokeviz report, warm", "seconds": seconds, "rss_mb": rss,
                     "target_ratio": REPORT_TARGET_RATIO, "target_rss_mb": TARGET_RSS_MB,
                     "note": f"{pages} pages"})

        seconds, rss, output = _repeat(
            [*pokeviz, "animate", str(run), *maps, "--output-dir", tmp], repeat)
        frames = next((line.split()[1] for line in output.splitlines()
                       if line.startswith("frames ")), "?")
        video = next(Path(tmp).glob("*_exploration.mp4"), None)
        size = f", {video.stat().st_size / MB:.1f} MB" if video else ""
        rows.append({"route": f"pokeviz animate, {frames} frames (mp4)", "seconds": seconds,
                     "rss_mb": rss, "target_ratio": ANIMATE_TARGET_RATIO,
                     "target_rss_mb": TARGET_RSS_MB, "note": f"{frames} frames{size}"})

        html_dir = Path(tmp) / "html"
        try:
            seconds, rss, _ = _repeat(
                [*pokeviz, "plot", str(run), *maps, "--format", "html", "--output-dir",
                 str(html_dir)], 1)
        except RuntimeError as exc:
            rows.append({"route": "pokeviz plot --format html (size)", "seconds": None,
                         "rss_mb": None, "target_ratio": None, "target_rss_mb": None,
                         "ok": False, "note": f"unavailable: {str(exc).splitlines()[0]}"})
        else:
            pages = sorted(html_dir.glob("*.html"))
            sizes = [p.stat().st_size / MB for p in pages]
            verdict = ("PASS" if pages and max(sizes) <= HTML_TARGET_MB else "FAIL")
            listing = ", ".join(f"{p.name.rsplit('_', 1)[-1]} {s:.1f} MB"
                                for p, s in zip(pages, sizes, strict=True))
            rows.append({"route": "pokeviz plot --format html (size)", "seconds": seconds,
                         "rss_mb": rss, "target_ratio": None, "target_rss_mb": TARGET_RSS_MB,
                         "ok": verdict == "PASS" and rss <= TARGET_RSS_MB,
                         "note": f"{listing or 'no page written'}; each ≤ "
                                 f"{HTML_TARGET_MB:.0f} MB: {verdict}"})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the rows for one run as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--experiments", type=Path, help="default: the run's grandparent")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    script = Path(sys.executable).with_name("pokeviz")
    pokeviz = [str(script)] if script.exists() else [sys.executable, "-m", "pokeviz"]
    for row in measure(args.run, args.experiments or args.run.parent.parent, pokeviz,
                       args.repeat):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
