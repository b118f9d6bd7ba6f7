"""The bench's data sets: synthetic runs made by ``pokeviz synth``, generated once and reused.

Two runs that look like users' runs (agents on 15–20 maps, tens of thousands of distinct
tiles in the users' 436 × 444 region: ``--map-scale 2.2 --explore 0.3``):

* ``run40``: 40 ``nested_total`` files of 16 envs × 2048 steps (~1.2 GB);
* ``run520``: 520 files of 8 envs × 512 steps (~1.9 GB), plus one spare file (the next
  rollout of the same run) kept aside for the "+1 file" route.

synth writes its last file as a half-size ``stats_final_*``; it is dropped so that every
file is full size. A data set is reused while its ``.bench-complete`` stamp matches its
spec, else regenerated.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from pokeviz.discover import Run
from pokeviz.kanto import TABLE_NAME

MB = 1024 * 1024
STAMP = ".bench-complete"


@dataclass(frozen=True)
class Spec:
    """One synthetic run: ``files`` log files of ``envs × steps_per_env`` entries."""

    files: int
    envs: int
    steps_per_env: int
    spare: bool = False  # one more file kept aside, for the "+1 file" route
    map_scale: float = 2.2
    explore: float = 0.3
    fmt: str = "nested_total"
    seed: int = 0


FULL = {"40": Spec(40, 16, 2048), "520": Spec(520, 8, 512, spare=True)}
QUICK = {"40": Spec(4, 4, 256), "520": Spec(12, 2, 64, spare=True)}


@dataclass
class DataSet:
    """A generated run: where it is, its spare file and its size."""

    name: str  # "40" or "520"
    spec: Spec
    root: Path  # the experiments folder (holds v4/ and map_data.json)
    run: Path
    spare: Path | None
    files: int
    bytes: int
    entries: int

    @property
    def logs(self) -> Path:
        """The run's ``json_logs/``, where :class:`pokeviz.discover.Run` says it is."""
        return Run(self.run).logs_dir

    @property
    def label(self) -> str:
        return f"{self.files} files"

    def spare_in_run(self) -> Path | None:
        return None if self.spare is None else self.logs / self.spare.name

    def put_spare_away(self) -> None:
        """Leave the run as generated (a crash may have left the spare in json_logs)."""
        inside = self.spare_in_run()
        if inside is not None and inside.exists():
            os.replace(inside, self.spare)

    def describe(self) -> str:
        spec = self.spec
        return (f"{self.files} {spec.fmt} files of {spec.envs} envs x {spec.steps_per_env} "
                f"steps, {self.entries:,} entries, {self.bytes / 1e9:.2f} GB (pokeviz synth "
                f"--map-scale {spec.map_scale} --explore {spec.explore}, seed {spec.seed})")


def _complete(root: Path, spec: Spec) -> bool:
    try:
        stamp = json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("spec") == asdict(spec)


def _file_order(path: Path) -> tuple[int, str]:
    match = re.search(r"(\d+)", path.name)
    return (int(match.group(1)) if match else 0, path.name)


def ensure_data(name: str, root: Path, spec: Spec, pokeviz: list[str]) -> DataSet:
    """Generate ``spec`` under ``root`` with ``pokeviz synth`` unless it is already there.

    Raises:
        SystemExit: the generated run does not have the expected files.
    """
    if not _complete(root, spec):
        if root.exists():
            shutil.rmtree(root)
        print(f"generating {root} ({spec.files} files) with pokeviz synth ...", flush=True)
        files = spec.files + (1 if spec.spare else 0) + 1
        subprocess.run(
            [*pokeviz, "synth", str(root), "--variant", "v4", "--files", str(files),
             "--envs", str(spec.envs), "--steps-per-env", str(spec.steps_per_env),
             "--format", spec.fmt, "--seed", str(spec.seed),
             "--map-scale", str(spec.map_scale), "--explore", str(spec.explore)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        run = next(root.glob("v4/*/json_logs")).parent
        logs = sorted(run.glob("json_logs/stats_*.json"), key=_file_order)
        logs.pop().unlink()  # the half-size stats_final_*
        if spec.spare:
            (root / "spare").mkdir()
            os.replace(logs[-1], root / "spare" / logs[-1].name)
        (root / STAMP).write_text(json.dumps({"spec": asdict(spec)}))
    restore_map_table(root)
    run = next(root.glob("v4/*/json_logs")).parent
    spare = next((root / "spare").glob("stats_*.json"), None) if spec.spare else None
    data = DataSet(name, spec, root, run, spare, 0, 0, 0)
    data.put_spare_away()
    logs = sorted(data.logs.glob("stats_*.json"))
    data.files = len(logs)
    data.bytes = sum(p.stat().st_size for p in logs)
    data.entries = data.files * spec.envs * spec.steps_per_env
    if data.files != spec.files:
        raise SystemExit(f"{root}: expected {spec.files} log files, found {data.files}")
    return data


def warm_page_cache(data: DataSet) -> None:
    """Read every log file once, so that every route reads them from the page cache."""
    for path in [*data.logs.glob("stats_*.json"), *([data.spare] if data.spare else [])]:
        with open(path, "rb") as handle:
            while handle.read(16 * MB):
                pass


def _aside(root: Path) -> Path:
    return root / ".map_data.json.aside"


def restore_map_table(root: Path) -> None:
    """Put back a map table a killed bench left aside."""
    if _aside(root).exists():
        os.replace(_aside(root), root / TABLE_NAME)


@contextmanager
def without_map_table(data: DataSet) -> Iterator[None]:
    """The run as a user without a map table sees it: the table is moved aside meanwhile."""
    os.replace(data.root / TABLE_NAME, _aside(data.root))
    try:
        yield
    finally:
        restore_map_table(data.root)
