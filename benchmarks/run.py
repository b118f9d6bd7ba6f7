"""``make bench``: pokeviz against the two peer routes, measured in one invocation.

Generates (once; reused while complete) the issue's data set with ``pokeviz synth``: a
run of 40 ``nested_total`` files × 32,768 entries (16 envs × 2048 steps, ``indent=2``,
~1.2 GB), one spare file of the same run for the incremental case, and a run with 4×
as many files of the same size for the flat-memory pair. Then it times, as separate
processes, each route below and prints ONE table (also written to
``benchmarks/results/latest.txt``):

* pokeviz cold ingest (cache deleted first), warm ``pokeviz plot`` (nothing changed),
  incremental (one new file added, then ``pokeviz plot``);
* ``peer_json_load.py`` (the researcher's script) and ``peer_duckdb.py`` (DuckDB
  ``read_json``, 2 threads);
* pokeviz cold ingest of the 4× run (peak memory must stay flat).

Wall time is the median over K runs. Peak RSS is measured two ways: ``max RSS`` is the
largest resident set of any single process of the route (``ru_maxrss`` from ``wait4``,
which covers the process and its waited-for workers: GNU ``time -v`` semantics); ``tree
PSS`` is the peak of the summed proportional set size of the whole process tree
(parent + workers), sampled from ``/proc/<pid>/smaps_rollup`` every 50 ms (PSS splits
shared pages between processes, so the sum is the memory actually used). Both are
the maximum over the K runs.

Usage: ``python benchmarks/run.py [--quick] [--repeat K] [--data-dir DIR]``.
``--quick`` uses a tiny data set and K = 1 (for the test suite; its targets mean
nothing at that size).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
MB = 1024 * 1024


# ---------------------------------------------------------------------------
# Data sets


@dataclass(frozen=True)
class Spec:
    """One synthetic run: ``files`` log files of ``envs × steps_per_env`` entries."""

    files: int
    envs: int
    steps_per_env: int
    spare: bool = False  # one more file kept aside, for the incremental case
    fmt: str = "nested_total"
    seed: int = 0


FULL = {"base": Spec(40, 16, 2048, spare=True), "x4": Spec(160, 16, 2048)}
QUICK = {"base": Spec(4, 4, 256, spare=True), "x4": Spec(16, 4, 256)}
STAMP = ".bench-complete"


def pokeviz_command() -> list[str]:
    """The ``pokeviz`` console script of this interpreter's environment."""
    script = Path(PYTHON).with_name("pokeviz")
    if script.exists():
        return [str(script)]
    return [PYTHON, "-c", "import sys; from pokeviz.cli import main; sys.exit(main())"]


@dataclass
class DataSet:
    """A generated run: its directory, the spare file's homes, and its size."""

    root: Path
    run: Path
    spare: Path | None
    files: int
    bytes: int
    entries: int

    @property
    def logs(self) -> Path:
        return self.run / "json_logs"

    def spare_in_run(self) -> Path | None:
        return None if self.spare is None else self.logs / self.spare.name

    def put_spare_away(self) -> None:
        """Leave the run as generated (a crash may have left the spare in json_logs)."""
        inside = self.spare_in_run()
        if inside is not None and inside.exists():
            os.replace(inside, self.spare)


def _complete(root: Path, spec: Spec) -> bool:
    try:
        stamp = json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("spec") == spec.__dict__


def ensure_data(root: Path, spec: Spec) -> DataSet:
    """Generate ``spec`` under ``root`` unless a complete copy is already there."""
    if not _complete(root, spec):
        if root.exists():
            shutil.rmtree(root)
        print(f"generating {root} ({spec.files} files) with pokeviz synth ...", flush=True)
        # synth writes its last file as ``stats_final_*`` with half the entries: it is
        # dropped, so that every file (and the spare, the next rollout) is full size.
        files = spec.files + (1 if spec.spare else 0) + 1
        subprocess.run(
            [*pokeviz_command(), "synth", str(root), "--variant", "v4",
             "--files", str(files), "--envs", str(spec.envs),
             "--steps-per-env", str(spec.steps_per_env), "--format", spec.fmt,
             "--seed", str(spec.seed)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        run = next(root.glob("v4/*/json_logs")).parent
        logs = sorted(run.glob("json_logs/stats_*.json"), key=_file_order)
        logs.pop().unlink()
        if spec.spare:
            (root / "spare").mkdir()
            os.replace(logs[-1], root / "spare" / logs[-1].name)
        (root / STAMP).write_text(json.dumps({"spec": spec.__dict__}))
    run = next(root.glob("v4/*/json_logs")).parent
    spare = next((root / "spare").glob("stats_*.json"), None) if spec.spare else None
    data = DataSet(root, run, spare, 0, 0, 0)
    data.put_spare_away()
    logs = sorted(data.logs.glob("stats_*.json"))
    data.files = len(logs)
    data.bytes = sum(p.stat().st_size for p in logs)
    data.entries = data.files * spec.envs * spec.steps_per_env
    if data.files != spec.files:
        raise SystemExit(f"{root}: expected {spec.files} log files, found {data.files}")
    return data


def _file_order(path: Path) -> tuple[int, str]:
    match = re.search(r"(\d+)", path.name)
    return (int(match.group(1)) if match else 0, path.name)


def warm_page_cache(data: DataSet) -> None:
    """Read every log file once, so that every route reads them from the page cache."""
    for path in [*data.logs.glob("stats_*.json"), *([data.spare] if data.spare else [])]:
        with open(path, "rb") as handle:
            while handle.read(16 * MB):
                pass


# ---------------------------------------------------------------------------
# Measuring one process (and its workers)


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
        self.peak_processes = 0
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
            self.peak_processes = max(self.peak_processes, len(pids))
            self.stopped.wait(self.interval_seconds)


@dataclass
class Sample:
    """One timed run of one route."""

    wall_seconds: float
    max_rss_bytes: int
    tree_pss_bytes: int
    processes: int
    output: str


def measure(command: list[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``command`` to completion; wall time and peak memory of its process tree."""
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
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{output}")
    return Sample(wall, usage.ru_maxrss * 1024, sampler.peak_bytes, sampler.peak_processes,
                  output)  # fmt: skip


# ---------------------------------------------------------------------------
# Routes


@dataclass
class Route:
    """A row of the table: its samples, and a note when it could not run."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    unavailable: str | None = None

    @property
    def wall(self) -> float | None:
        if not self.samples:
            return None
        return statistics.median(s.wall_seconds for s in self.samples)

    @property
    def max_rss(self) -> int | None:
        return max((s.max_rss_bytes for s in self.samples), default=None)

    @property
    def tree_pss(self) -> int | None:
        return max((s.tree_pss_bytes for s in self.samples), default=None)


def plot_available(pokeviz: list[str]) -> bool:
    """Whether this pokeviz has the ``plot`` command (written by another engineer)."""
    result = subprocess.run([*pokeviz, "plot", "--help"], capture_output=True)
    return result.returncode == 0


def counted(output: str) -> tuple[int, int] | None:
    """(entries, visits) that a route reports; None when it does not say."""
    for line in output.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            return int(data["entries"]), int(data["visits"])
    entries = re.search(r"^entries\s+([\d,]+)", output, re.M)
    visits = re.search(r"^tiles\s.*?([\d,]+) visits", output, re.M)
    if entries and visits:
        return int(entries[1].replace(",", "")), int(visits[1].replace(",", ""))
    return None


def one_file_ingest_seconds(path: Path, repeat: int) -> float:
    """Median in-process time to ingest one file and write its sidecars."""
    from pokeviz.cache import SIDECARS, write_sidecars
    from pokeviz.ingest import ingest_file

    times = []
    with tempfile.TemporaryDirectory() as cache:
        (Path(cache) / SIDECARS).mkdir()
        for _ in range(repeat):
            started = time.perf_counter()
            write_sidecars(ingest_file(path), Path(cache))
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_benchmark(args: argparse.Namespace) -> str:
    specs = QUICK if args.quick else FULL
    data_dir = args.data_dir or HERE / "data" / ("quick" if args.quick else "full")
    base = ensure_data(data_dir / "base", specs["base"])
    x4 = ensure_data(data_dir / "x4", specs["x4"])
    warm_page_cache(base)
    warm_page_cache(x4)
    repeat, slow_repeat = args.repeat, args.slow_repeat
    pokeviz = pokeviz_command()
    env = dict(os.environ, TQDM_DISABLE="1")
    has_plot = plot_available(pokeviz)
    map_table = base.root / "map_data.json"

    cold = Route("pokeviz ingest, cold (cache deleted)")
    warm = Route("pokeviz plot, warm (nothing changed)")
    incremental = Route("pokeviz plot, incremental (+1 file)")
    peer_json = Route("peer: json.load script (peer_json_load.py)")
    peer_duck = Route("peer: DuckDB read_json, 2 threads (peer_duckdb.py)")
    big = Route(f"pokeviz ingest, cold, 4x files ({x4.files})")
    if not has_plot:
        warm.unavailable = incremental.unavailable = "n/a (plot not available)"

    def cold_ingest(data: DataSet) -> Sample:
        shutil.rmtree(data.run / "plots" / ".cache", ignore_errors=True)
        return measure([*pokeviz, "ingest", str(data.run)], env)

    if has_plot and not args.quick:  # untimed: a first render (fonts, imports)
        measure([*pokeviz, "plot", str(base.run)], env)
    for i in range(repeat):
        cold.samples.append(cold_ingest(base))
        if has_plot:
            warm.samples.append(measure([*pokeviz, "plot", str(base.run)], env))
            assert base.spare is not None
            os.replace(base.spare, base.logs / base.spare.name)
            try:
                incremental.samples.append(measure([*pokeviz, "plot", str(base.run)], env))
            finally:
                base.put_spare_away()
        peer_duck.samples.append(
            measure([PYTHON, str(HERE / "peer_duckdb.py"), str(base.run), "--threads", "2"])
        )
        if i < slow_repeat:
            with tempfile.TemporaryDirectory() as out:
                peer_json.samples.append(
                    measure([PYTHON, str(HERE / "peer_json_load.py"), str(base.run),
                             "--map-table", str(map_table), "--out", out])  # fmt: skip
                )
            big.samples.append(cold_ingest(x4))
    shutil.rmtree(x4.run / "plots", ignore_errors=True)  # 4x the sidecars: not kept
    assert base.spare is not None
    single = one_file_ingest_seconds(base.spare, max(repeat, 3))
    return report(args, base, x4, [cold, warm, incremental, peer_json, peer_duck, big], single)


# ---------------------------------------------------------------------------
# The table


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _mb(value: int | None) -> str:
    return "—" if value is None else f"{value / MB:.0f} MB"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = []
    for module in ("duckdb", "msgspec", "ijson", "numpy", "pyarrow", "matplotlib"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            versions.append(f"{module} missing")
    return (
        f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, {cpu}; Python "
        f"{sys.version.split()[0]}; {', '.join(versions)}"
    )


def report(
    args: argparse.Namespace,
    base: DataSet,
    x4: DataSet,
    routes: list[Route],
    single_seconds: float,
) -> str:
    cold, warm, incremental, peer_json, peer_duck, big = routes
    duck = peer_duck.wall
    limit_mb = 300

    targets: dict[str, list[str]] = {r.name: [] for r in routes}
    if cold.wall is not None and duck is not None:
        targets[cold.name].append(
            f"≤ 0.70x DuckDB ({0.7 * duck:.2f} s): {_verdict(cold.wall <= 0.7 * duck)}"
        )
    if cold.wall is not None and peer_json.wall is not None:
        targets[cold.name].append(
            f"≥ 10x faster than json.load (≤ {peer_json.wall / 10:.2f} s): "
            f"{_verdict(cold.wall * 10 <= peer_json.wall)}"
        )
    for route in (cold, warm, incremental, big):
        if route.samples:
            ok = route.max_rss <= limit_mb * MB and route.tree_pss <= limit_mb * MB
            targets[route.name].append(
                f"peak RSS ≤ {limit_mb} MB (max RSS and tree PSS): {_verdict(ok)}"
            )
    if warm.wall is not None:
        targets[warm.name].append(f"≤ 3 s: {_verdict(warm.wall <= 3.0)}")
    elif warm.unavailable:
        targets[warm.name].append("≤ 3 s: not measured")
    if incremental.wall is not None and warm.wall is not None:
        bound = warm.wall + single_seconds + 0.5
        targets[incremental.name].append(
            f"≤ warm + 1-file ingest ({single_seconds:.2f} s) + 0.5 s = {bound:.2f} s: "
            f"{_verdict(incremental.wall <= bound)}"
        )
    if big.samples and cold.samples:
        ratio = big.max_rss / cold.max_rss
        pss_ratio = big.tree_pss / cold.tree_pss
        targets[big.name].append(
            f"flat: peak within 10% of the {base.files}-file run (max RSS {ratio:.2f}x, "
            f"tree PSS {pss_ratio:.2f}x): {_verdict(max(ratio, pss_ratio) <= 1.10)}"
        )

    header = ("route", "K", "wall (median)", "x DuckDB", "max RSS", "tree PSS", "target: result")
    rows = []
    for route in routes:
        if route.unavailable:
            rows.append((route.name, "0", route.unavailable, "", "", "", ""))
        else:
            ratio = "" if route.wall is None or not duck else f"{route.wall / duck:.2f}x"
            rows.append((route.name, str(len(route.samples)), _seconds(route.wall), ratio,
                         _mb(route.max_rss), _mb(route.tree_pss), ""))  # fmt: skip
        for i, target in enumerate(targets[route.name]):
            if i == 0:
                rows[-1] = (*rows[-1][:-1], target)
            else:
                rows.append(("", "", "", "", "", "", target))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...]) -> str:
        aligned = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(
            zip(cells[:-1], widths, strict=True))]  # fmt: skip
        return "  ".join([*aligned, cells[-1]]).rstrip()

    out = [
        f"pokeviz benchmark{' (QUICK: tiny data, targets not meaningful)' if args.quick else ''}"
        f" — {time.strftime('%Y-%m-%d %H:%M')}",
        f"data: {base.files} nested_total files, {base.entries:,} entries, "
        f"{base.bytes / 1e9:.2f} GB (pokeviz synth, seed 0); 4x run: {x4.files} files, "
        f"{x4.bytes / 1e9:.2f} GB; all files read from the page cache",
        _machine(),
        f"K = {args.repeat} runs per route (median wall time); K = {args.slow_repeat} for "
        "the json.load peer and the 4x run (slow); memory = max over the K runs",
        "max RSS = largest single process (wait4 ru_maxrss, GNU time semantics); tree PSS = "
        "peak of the summed PSS of the process and its workers, /proc sampled every 50 ms",
        "",
        line(header),
        line(tuple("-" * len(h) for h in header)),
        *[line(r) for r in rows],
        "",
        _work_check(routes, base, x4),
        f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
        "(other processes on the machine skew wall times)",
    ]
    return "\n".join(out)


def _work_check(routes: list[Route], base: DataSet, x4: DataSet) -> str:
    """Every route must have read every entry: compare what each one reports."""
    cold, warm, incremental, peer_json, peer_duck, big = routes
    expected = {cold.name: base.entries, peer_json.name: base.entries,
                peer_duck.name: base.entries, big.name: x4.entries}  # fmt: skip
    problems = []
    for route in routes:
        if route.name not in expected:
            continue
        for sample in route.samples:
            got = counted(sample.output)
            if got != (expected[route.name], expected[route.name]):
                problems.append(f"{route.name}: reported (entries, visits) {got}")
    if problems:
        return "work check: FAILED — " + "; ".join(problems)
    return (
        f"work check: every ingest and peer run reported {base.entries:,} entries and as "
        f"many visits ({x4.entries:,} for the 4x run)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pokeviz benchmark (make bench)")
    parser.add_argument("--quick", action="store_true", help="tiny data set, K = 1")
    parser.add_argument("--repeat", type=int, help="runs per route (default 3; 1 quick)")
    parser.add_argument("--slow-repeat", type=int, help="runs of the slow routes (default 1)")
    parser.add_argument("--data-dir", type=Path, help="where the data sets are kept")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.slow_repeat = min(args.slow_repeat or 1, args.repeat)
    table = run_benchmark(args)
    print(table)
    if not args.quick and args.data_dir is None:
        results = HERE / "results"
        results.mkdir(exist_ok=True)
        (results / "latest.txt").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
