"""Plugin rows: every ``benchmarks/bench_*.py`` measures its own routes (contract in README).

Each plugin runs in its own process (``python harness_plugins.py PLUGIN ...``), so a
plugin that raises, exits, hangs or eats memory becomes one FAIL row of the table and
never stops the benchmark. The plugin says which data set it wants with a module-level
``RUN = "40"`` (default) or ``RUN = "520"``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import traceback
from pathlib import Path

from harness_table import Row

#: The line before the plugin's JSON rows on the child's stdout.
MARKER = "@@pokeviz-bench-plugin-rows@@"
KEYS = ("route", "seconds", "rss_mb", "target_ratio", "target_rss_mb", "note")
#: Keys a row may leave out (read as None).
OPTIONAL = ("rss_mb", "target_rss_mb", "ok")
NUMBERS = ("seconds", "rss_mb", "target_ratio", "target_rss_mb")


def find_plugins(folder: Path) -> list[Path]:
    """The plugin modules of ``folder``, in name order."""
    return sorted(folder.glob("bench_*.py"))


def _load(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(f"pokeviz_bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    return module


def check_rows(rows: object) -> list[dict]:
    """The rows if they follow the contract (left-out optional keys set to None).

    Raises:
        ValueError: not a list of dicts with the contract's keys and types.
    """
    if not isinstance(rows, list):
        raise ValueError(f"measure() returned {type(rows).__name__}, not a list of rows")
    for row in rows:
        if not isinstance(row, dict):
            raise ValueError(f"a row is {type(row).__name__}, not a dict")
        missing = [k for k in KEYS if k not in row and k not in OPTIONAL]
        extra = [k for k in row if k not in (*KEYS, "ok")]
        if missing or extra:
            raise ValueError(f"row {row.get('route')!r}: missing {missing}, unknown {extra}")
        if not isinstance(row["route"], str) or not isinstance(row["note"], str):
            raise ValueError(f"row {row['route']!r}: route and note must be text")
        for key in OPTIONAL:
            row.setdefault(key, None)
        for key in NUMBERS:
            value = row[key]
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, int | float) or not math.isfinite(value)):  # fmt: skip
                raise ValueError(f"row {row['route']!r}: {key} = {value!r} is not a number")
        if row.get("ok") is not None and not isinstance(row["ok"], bool):
            raise ValueError(f"row {row['route']!r}: ok must be true, false or null")
    return rows


def run_plugin(
    path: Path,
    runs: dict[str, tuple[Path, Path]],
    pokeviz: list[str],
    repeat: int,
    timeout_seconds: float,
) -> tuple[str, list[dict] | str]:
    """Run one plugin in a child process.

    Args:
        path: the plugin module.
        runs: data set name -> (run folder, experiments folder).
        pokeviz, repeat: passed to the plugin's ``measure``.
        timeout_seconds: the child is killed after this long.

    Returns:
        ``(data set name, rows)`` or ``(data set name or "40", one-line error)``.
    """
    command = [sys.executable, __file__, str(path), json.dumps(
        {name: [str(r), str(e)] for name, (r, e) in runs.items()}), json.dumps(pokeviz),
        str(repeat)]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        return "40", f"no answer within {timeout_seconds:.0f} s (killed)"
    out = done.stdout
    if MARKER not in out:
        lines = (done.stderr or out).strip().splitlines() or [f"exit status {done.returncode}"]
        return "40", lines[-1][:300]
    answer = json.loads(out.rsplit(MARKER, 1)[1])
    if "error" in answer:
        return answer.get("run", "40"), answer["error"]
    return answer["run"], answer["rows"]


def plugin_rows(
    path: Path,
    datasets: dict[str, tuple[Path, Path, str, float | None]],
    pokeviz: list[str],
    repeat: int,
    timeout_seconds: float,
) -> list[Row]:
    """Table rows of one plugin; a failing plugin is one FAIL row naming the failure.

    Args:
        datasets: name -> (run, experiments, label such as "40 files", DuckDB seconds).
    """
    runs = {name: (run, experiments) for name, (run, experiments, _, _) in datasets.items()}
    name, rows = run_plugin(path, runs, pokeviz, repeat, timeout_seconds)
    label, peer = datasets.get(name, datasets["40"])[2:]
    if isinstance(rows, str):
        return [Row(label, f"{path.stem}: plugin failed", ok=False, note=rows)]
    return [
        Row(label, row["route"], repeat if row["seconds"] is not None else 0, row["seconds"],
            peer, row["target_ratio"], row["rss_mb"], None, row["target_rss_mb"],
            row.get("ok"), row["note"])  # fmt: skip
        for row in rows
    ]


def _child(argv: list[str]) -> int:
    """In the child: import the plugin, call ``measure``, print the checked rows."""
    path, runs, pokeviz, repeat = Path(argv[0]), json.loads(argv[1]), json.loads(argv[2]), \
        int(argv[3])  # fmt: skip
    wanted = "40"
    try:
        module = _load(path)
        wanted = str(getattr(module, "RUN", "40"))
        if wanted not in runs:
            raise ValueError(f"RUN = {wanted!r}: use one of {', '.join(map(repr, runs))}")
        run, experiments = (Path(p) for p in runs[wanted])
        rows = check_rows(module.measure(run, experiments, pokeviz, repeat))
        answer = {"run": wanted, "rows": rows}
    except BaseException as exc:  # noqa: BLE001 - any failure is reported as a row
        traceback.print_exc()
        answer = {"run": wanted, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    print(MARKER + json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
