"""Re-plotting an unchanged run keeps its figures; any change of input draws them again."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pokeviz.cli import main
from pokeviz.plots import plot_run
from pokeviz.plots.memo import MEMO_NAME, FigureMemo, data_digest
from pokeviz.synth import synth_run

from .conftest import deep_root

pytestmark = pytest.mark.usefixtures("no_map_table_from_the_environment")


def digests(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return synth_run(deep_root(tmp_path), files=3, envs=2, steps_per_env=30).run_dir


def test_an_unchanged_run_keeps_every_figure_byte_for_byte(run: Path) -> None:
    first = plot_run(run, formats=("png", "svg"))
    assert first.kept == []
    before = digests(first.paths)
    second = plot_run(run, formats=("png", "svg"))
    assert second.kept == second.paths and len(second.paths) == 4
    assert digests(second.paths) == before
    assert sum("kept     " in line for line in second.lines()) == 4
    memo = json.loads((run / "plots" / ".cache" / MEMO_NAME).read_text())
    assert sorted(memo) == sorted(str(p.resolve()) for p in first.paths)


def test_a_forced_redraw_gives_the_same_bytes(run: Path) -> None:
    before = digests(plot_run(run).paths)
    again = plot_run(run, redraw=True)
    assert again.kept == []
    assert digests(again.paths) == before


def test_an_edited_or_deleted_figure_is_drawn_again(run: Path) -> None:
    paths = plot_run(run).paths
    before = digests(paths)
    rewards, heatmap = paths
    rewards.write_bytes(rewards.read_bytes() + b"edited")
    heatmap.unlink()
    again = plot_run(run)
    assert again.kept == []
    assert digests(again.paths) == before


def test_new_data_or_other_options_draw_again(run: Path) -> None:
    plot_run(run)
    other = plot_run(run, smooth_window=7)
    assert other.kept == [other.paths[1]]  # the heatmap does not depend on the window
    logs = run / "json_logs"
    newest = sorted(logs.iterdir())[-1]
    shutil.copy(newest, logs / "stats_9999999999.json")
    grown = plot_run(run, smooth_window=7)
    assert grown.kept == []
    assert grown.report.files == 4


def test_a_corrupt_memo_only_costs_a_redraw(run: Path) -> None:
    before = digests(plot_run(run).paths)
    (run / "plots" / ".cache" / MEMO_NAME).write_text("{not json")
    again = plot_run(run)
    assert again.kept == []
    assert digests(again.paths) == before
    assert plot_run(run).kept == again.paths


def test_the_cli_keeps_then_redraws_on_request(run: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["plot", str(run)])
    assert first.exit_code == 0, first.output
    kept = runner.invoke(main, ["plot", str(run)])
    assert kept.exit_code == 0, kept.output
    assert kept.output.count("\nkept     ") == 2 and "wrote    " not in kept.output
    redrawn = runner.invoke(main, ["plot", str(run), "--redraw"])
    assert redrawn.exit_code == 0, redrawn.output
    assert redrawn.output.count("\nwrote    ") == 2 and "kept     " not in redrawn.output


def test_the_data_digest_sees_every_number() -> None:
    import numpy as np

    from pokeviz.plots.heatmap import LocalMap

    def local(map_id: int, visits: list) -> LocalMap:
        return LocalMap(map_id=map_id, visits=np.array(visits), x0=0, y0=0)

    a = local(1, [[1, 2], [3, 4]])
    assert data_digest(a) == data_digest(local(1, [[1, 2], [3, 4]]))
    assert data_digest(a) != data_digest(local(1, [[1, 2], [3, 5]]))
    assert data_digest(a) != data_digest(local(1, [[1, 2, 3, 4]]))
    assert data_digest(a) != data_digest(local(2, [[1, 2], [3, 4]]))
    assert data_digest([1.0]) != data_digest([1])
    key = data_digest(a)
    assert FigureMemo.key(key, "t", "png") != FigureMemo.key(key, "t", "svg")
    assert FigureMemo.key(key, "t", "png") != FigureMemo.key(key, "u", "png")
