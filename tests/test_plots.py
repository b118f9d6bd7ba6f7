"""pokeviz plot / demo: real logs, real cache, real figures; the data behind them, exactly."""

from __future__ import annotations

import json
import shutil
import struct
import time
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import pokeviz
import pokeviz.demo
import pokeviz.plots
from pokeviz.cli import main
from pokeviz.kanto import ENV_VAR
from pokeviz.plots import plot_run
from pokeviz.plots.rewards import adaptive_window, rolling_mean
from pokeviz.plots.style import RC, format_steps
from pokeviz.synth import FORMATS, synth_run

from .conftest import nested_entry

TABLE = {
    "regions": [
        {"id": "-1", "name": "Kanto", "coordinates": [0, 0], "tileSize": [60, 50]},
        {"id": "0", "name": "Town", "coordinates": [10, 20], "tileSize": [8, 6]},
        {"id": "12", "name": "Road", "coordinates": [30, 5], "tileSize": [5, 15]},
    ]
}


@pytest.fixture(autouse=True)
def no_map_table_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def invoke(*args: object) -> click.testing.Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def png_dpi(path: Path) -> tuple[float, float]:
    """The resolution in the PNG's pHYs chunk (pixels per metre → dots per inch)."""
    data = path.read_bytes()
    at = data.index(b"pHYs") + 4
    per_metre_x, per_metre_y, unit = struct.unpack(">IIB", data[at : at + 9])
    assert unit == 1  # metres
    return per_metre_x * 0.0254, per_metre_y * 0.0254


def deep_root(base: Path) -> Path:
    """An experiments folder 2 levels below ``base``: the map table search (run folder
    plus 4 above) never leaves ``base``, so no other test's table is found."""
    return base / "x" / "y" / "experiments"


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = deep_root(tmp_path_factory.mktemp("plots"))
    synth_run(root, variant="v4", timestamp="20260101_000000", files=2, envs=2, steps_per_env=20)
    synth_run(root, variant="v4", timestamp="20260102_000000", files=6, envs=4,
              steps_per_env=64, seed=3)
    (root / "map_data.json").write_text(json.dumps(TABLE))
    return root


# ---------------------------------------------------------------------------
# Hand-made logs: exact numbers


def entry(map_id: int | None, x: int, y: int, total: float, drop: tuple[str, ...] = (),
          **components: float) -> dict:
    made = nested_entry(0, map_id=map_id or 0, x=x, y=y, total=total, **components)
    for name in drop:
        del made["rewards"]["components"][name]
    if map_id is None:
        del made["position"]
    return made


@pytest.fixture
def hand_run(tmp_path: Path) -> Path:
    """Two files: 4 entries (with an extra op_lvl component), then 3 (no level, no
    op_lvl, one entry without a position). Visits: map 0 (1,2) ×3, map 12 (4,0) and
    (4,1), map 99 (7,8) — 99 is not in TABLE."""
    run = deep_root(tmp_path) / "v4" / "20260101_000000"
    logs = run / "json_logs"
    logs.mkdir(parents=True)
    first = [
        entry(0, 1, 2, 1.0, op_lvl=2.0),
        entry(0, 1, 2, 3.0, op_lvl=4.0),
        entry(12, 4, 0, 5.0, op_lvl=6.0),
        entry(99, 7, 8, 7.0, op_lvl=8.0),
    ]
    second = [
        entry(0, 1, 2, 10.0, drop=("level",)),
        entry(12, 4, 1, 20.0, drop=("level",)),
        entry(None, 0, 0, 30.0, drop=("level",)),
    ]
    (logs / "stats_100.json").write_text(json.dumps(first, indent=2))
    (logs / "stats_200.json").write_text(json.dumps(second, indent=2))
    (run.parent.parent / "map_data.json").write_text(json.dumps(TABLE))
    return run


def test_visits_land_at_their_global_positions(hand_run: Path, tmp_path: Path) -> None:
    result = plot_run(hand_run, output_dir=tmp_path / "out")
    heat = result.heatmap
    assert result.map_table is not None
    assert result.map_table.path == hand_run.parents[1] / "map_data.json"
    assert heat.grid is not None and heat.origin == (0, 0)
    assert heat.grid.shape == (50, 60)  # rows = region height, columns = region width
    assert heat.visits_at(11, 22) == 3  # map 0 (1, 2) + (10, 20)
    assert heat.visits_at(34, 5) == 1  # map 12 (4, 0) + (30, 5)
    assert heat.visits_at(34, 6) == 1  # map 12 (4, 1)
    assert int(heat.grid.sum()) == heat.placed_visits == 5
    assert list(zip(*np.nonzero(heat.grid), strict=True)) == [(5, 34), (6, 34), (22, 11)]
    assert heat.unplaced_map_ids == [99] and heat.unplaced_visits == 1
    (local,) = heat.unplaced
    assert (local.x0, local.y0, local.visits.shape) == (0, 0, (9, 8))  # from (0, 0)
    assert local.visits[8, 7] == local.total == 1
    assert heat.total_visits == 6 and result.report.entries == 7
    assert [label[:3] for label in heat.labels] == [("Town", 0, 3), ("Road", 12, 2)]
    lines = result.lines()
    assert "heatmap  6 visits: 5 placed on the Kanto map; 1 on 1 unplaced map (ids 99), " \
        "drawn in their own panels" in lines
    assert "heatmap  1 entry has no position (not in the heatmap)" in lines


def test_reward_data_is_the_exact_per_file_statistics(hand_run: Path, tmp_path: Path) -> None:
    result = plot_run(hand_run, output_dir=tmp_path / "out", smooth_window=50)
    rewards = result.rewards
    assert rewards.file_names == ["stats_100.json", "stats_200.json"]
    assert rewards.file_first_step.tolist() == [1, 5]
    assert rewards.file_last_step.tolist() == [4, 7]
    assert rewards.file_mid_step.tolist() == [2.5, 6.0]
    assert list(rewards.series) == [
        "reward_total", "reward_event", "reward_level", "reward_heal", "reward_badge",
        "reward_explore", "reward_dead", "reward_stuck", "reward_op_lvl",
    ]
    assert rewards.missing == []
    total = rewards.series["reward_total"]
    assert total.mean.tolist() == [4.0, 20.0]
    assert total.minimum.tolist() == [1.0, 10.0] and total.maximum.tolist() == [7.0, 30.0]
    assert total.std == pytest.approx([np.std([1, 3, 5, 7], ddof=1), 10.0])
    # Every entry is in the reservoir (7 samples): window 7 // 5 = 1, so no smoothing.
    assert total.window == 1
    assert total.sample_step.tolist() == [1, 2, 3, 4, 5, 6, 7]
    # Smoothed in rollout order: each file's samples on its own steps, mixed within it.
    assert total.smooth_step.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert sorted(total.smooth_value[:4]) == [1.0, 3.0, 5.0, 7.0]
    assert sorted(total.smooth_value[4:]) == [10.0, 20.0, 30.0]
    level, extra = rewards.series["reward_level"], rewards.series["reward_op_lvl"]
    assert level.mean[0] == 1.0 and np.isnan(level.mean[1]) and level.files_missing == 1
    assert extra.mean[0] == 5.0 and np.isnan(extra.mean[1]) and extra.label == "op_lvl"
    assert extra.sample_value.tolist() == [2.0, 4.0, 6.0, 8.0]  # missing is not 0
    assert rewards.sampling_line == "7 of 7 entries sampled (100.00%) · 2 files"
    assert "rewards  drawn: total, event, level, heal, badge, explore, dead, stuck, op_lvl" \
        in result.lines()


def test_components_missing_from_the_whole_run_are_named_not_drawn(tmp_path: Path) -> None:
    root = deep_root(tmp_path)
    run = synth_run(root, variant="v1", files=2, envs=2, steps_per_env=16,
                    fmt="flat_legacy").run_dir
    result = plot_run(run)
    assert list(result.rewards.series) == ["reward_event", "reward_heal"]
    assert result.rewards.missing == [
        "reward_total", "reward_level", "reward_badge", "reward_explore", "reward_dead",
        "reward_stuck",
    ]
    assert ("rewards  not in these logs (not drawn): reward_total, reward_level, "
            "reward_badge, reward_explore, reward_dead, reward_stuck") in result.lines()


def test_without_a_map_table_every_map_gets_its_own_panel(tmp_path: Path) -> None:
    run = synth_run(deep_root(tmp_path), files=2, envs=2, steps_per_env=40).run_dir
    result = plot_run(run)
    heat = result.heatmap
    assert result.map_table is None and heat.grid is None and heat.placed_visits == 0
    assert heat.unplaced_visits == heat.total_visits == result.report.entries == 120
    assert len(set(heat.unplaced_map_ids)) == len(heat.unplaced_map_ids) >= 2
    # Each panel is one map: its visits are exactly that map's rows of `positions`.
    with pokeviz.open_run(run, update=False) as view:
        expected = dict(
            view.con.execute("SELECT map, sum(visits) FROM positions GROUP BY map").fetchall()
        )
    assert {m.map_id: m.total for m in heat.unplaced} == expected
    summary = "\n".join(result.lines())
    assert "map      no map table found (see --map-data)" in summary
    assert (f"heatmap  120 visits: none placed on the Kanto map; 120 on {len(expected)} "
            "unplaced maps") in summary


# ---------------------------------------------------------------------------
# Files, formats, determinism


def test_plot_writes_both_figures_at_300_dpi_in_every_format(synth_root: Path) -> None:
    result = invoke("plot", "--variant", "v4", "--experiments-dir", synth_root,
                    "--format", "png,pdf", "--format", "svg")
    assert result.exit_code == 0, result.output
    plots = synth_root / "v4" / "20260102_000000" / "plots"  # the latest run
    names = [f"v4_20260102_000000_{kind}.{fmt}" for kind in ("rewards", "heatmap")
             for fmt in ("png", "pdf", "svg")]
    assert sorted(p.name for p in plots.iterdir() if p.is_file()) == sorted(names)
    for name in names:
        assert f"wrote    {plots / name}" in result.output
    for kind in ("rewards", "heatmap"):
        png = plots / f"v4_20260102_000000_{kind}.png"
        assert [round(v) for v in png_dpi(png)] == [300, 300]
        assert [round(v) for v in Image.open(png).info["dpi"]] == [300, 300]
        assert (plots / f"v4_20260102_000000_{kind}.pdf").read_bytes().startswith(b"%PDF")
        assert b"<svg" in (plots / f"v4_20260102_000000_{kind}.svg").read_bytes()[:600]
    assert "steps    global 1 … 1,408" in result.output
    assert "drawn    600 of 1,408 entries sampled (42.61%) · 6 files" in result.output
    assert f"map      {synth_root / 'map_data.json'}" in result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_log_generation_plots(tmp_path: Path, fmt: str) -> None:
    run = synth_run(deep_root(tmp_path), files=3, envs=2, steps_per_env=24, fmt=fmt).run_dir
    result = invoke("plot", run, "--output-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "v4_20260101_000000_heatmap.png", "v4_20260101_000000_rewards.png"]
    assert "entries  120;" in result.output


def test_same_logs_same_bytes_whatever_the_ingest(synth_root: Path, tmp_path: Path) -> None:
    run = synth_root / "v4" / "20260102_000000"
    formats = ("png", "pdf", "svg")

    def plot_into(folder: Path) -> dict[str, bytes]:
        result = plot_run(run, output_dir=folder, formats=formats, jobs=1)
        return {p.name: p.read_bytes() for p in result.paths}

    first = plot_into(tmp_path / "a")
    assert len(first) == 6
    assert plot_into(tmp_path / "a") == first  # same command again
    shutil.rmtree(run / "plots" / ".cache")
    report = pokeviz.ingest(run, jobs=2, order=lambda paths: list(reversed(list(paths))))
    assert len(report.update.ingested) == 6
    assert plot_into(tmp_path / "b") == first
    png_only = plot_run(run, output_dir=tmp_path / "c", formats=("png",))
    assert {p.name: p.read_bytes() for p in png_only.paths} == {
        name: data for name, data in first.items() if name.endswith(".png")}
    svg = first["v4_20260102_000000_rewards.svg"]
    assert b"<dc:date>" not in svg and b"CreationDate" not in first[
        "v4_20260102_000000_rewards.pdf"]


def test_a_warm_rerun_reads_no_log_file(synth_root: Path, tmp_path: Path) -> None:
    run = synth_root / "v4" / "20260102_000000"
    plot_run(run, output_dir=tmp_path)
    started = time.perf_counter()
    result = invoke("plot", run, "--output-dir", tmp_path)
    seconds = time.perf_counter() - started
    assert result.exit_code == 0
    assert "this update: 0 new, 0 re-read, 6 unchanged" in result.output
    again = plot_run(run, output_dir=tmp_path)
    assert again.report.update.ingested == []
    print(f"warm pokeviz plot (CliRunner, 1,408 entries, png): {seconds:.2f} s")


def test_samples_seed_and_smooth_window_reach_the_figure(synth_root: Path,
                                                         tmp_path: Path) -> None:
    run = synth_root / "v4" / "20260102_000000"
    result = plot_run(run, output_dir=tmp_path, samples=100, smooth_window=8)
    total = result.rewards.series["reward_total"]
    assert result.rewards.samples == 100 and len(total.sample_step) == 100
    assert total.window == 8 and len(total.smooth_step) == 93
    assert result.rewards.sampling_line == "100 of 1,408 entries sampled (7.10%) · 6 files"
    other = plot_run(run, output_dir=tmp_path, samples=100, seed=1)
    assert other.rewards.series["reward_total"].sample_step.tolist() != total.sample_step.tolist()


# ---------------------------------------------------------------------------
# CLI: verbose, errors, demo


def test_verbose_prints_files_and_memory(synth_root: Path, tmp_path: Path) -> None:
    run = synth_root / "v4" / "20260101_000000"
    result = invoke("plot", run, "--output-dir", tmp_path, "-v")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    files = [line for line in lines if line.endswith(("global 1 … 40", "global 41 … 60"))]
    assert len(files) == 2 and files[0].split()[1] == "stats_1767225600.json:"
    assert any(line.startswith("memory   peak RSS ") for line in lines)


def test_a_bad_map_table_is_one_error_line(synth_root: Path, tmp_path: Path) -> None:
    bad = tmp_path / "map_data.json"
    bad.write_text("{oops")
    result = CliRunner().invoke(main, ["plot", str(synth_root / "v4"), "--map-data", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {bad}: not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)); is it a map_data.json?"
    ]


def test_an_unknown_format_is_a_usage_error(synth_root: Path) -> None:
    result = CliRunner().invoke(main, ["plot", str(synth_root / "v4"), "--format", "png,jpg"])
    assert result.exit_code == 2
    assert "jpg: use one or more of png, pdf, svg" in result.output


def test_demo_generates_once_then_only_plots(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pokeviz.demo, "DEMO_FILES", 2)
    monkeypatch.setattr(pokeviz.demo, "DEMO_ENVS", 2)
    monkeypatch.setattr(pokeviz.demo, "DEMO_STEPS_PER_ENV", 16)
    demo = tmp_path / "demo"
    first = invoke("demo", demo)
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"generating synthetic runs in {demo / 'experiments'}")
    experiments = demo / "experiments"
    assert sorted(p.name for p in experiments.iterdir()) == [
        "map_data.json", "v1", "v2", "v3", "v4"]
    assert sorted(p.name for p in (experiments / "v4").iterdir()) == [
        "20260101_000000", "20260101_010000"]
    plots = experiments / "v4" / "20260101_010000" / "plots"
    for kind in ("rewards", "heatmap"):
        assert f"wrote    {plots / f'v4_20260101_010000_{kind}.png'}" in first.output
    assert "heatmap  48 visits: 48 placed on the Kanto map" in first.output
    again = invoke("demo", demo)
    assert "generating" not in again.output
    assert "this update: 0 new, 0 re-read, 2 unchanged" in again.output
    # Nothing changed: the run's two images and the two comparison images are kept.
    assert again.output.count("\nkept     ") == 4 and "wrote    " not in again.output


# ---------------------------------------------------------------------------
# Pieces


def test_step_labels() -> None:
    labels = [format_steps(v) for v in (0, 999, 1500, 250_000, 1_500_000, 2e9, 1_310_720)]
    assert labels == ["0", "999", "1.5K", "250K", "1.5M", "2B", "1.31M"]


def test_adaptive_window_and_rolling_mean() -> None:
    assert [adaptive_window(n, 50) for n in (10_000, 250, 100, 7, 3, 0)] == [50, 50, 20, 1, 1, 1]
    steps, values = rolling_mean(np.array([1, 2, 3, 4]), np.array([1.0, 3.0, 5.0, 10.0]), 2)
    assert steps.tolist() == [1.5, 2.5, 3.5] and values.tolist() == [2.0, 4.0, 7.5]
    assert len(rolling_mean(np.array([1]), np.array([1.0]), 2)[0]) == 0


def test_theme_is_seaborn_whitegrid_paper_with_a_fixed_font() -> None:
    import seaborn  # a declared dependency: the theme is checked against it
    expected = {**seaborn.axes_style("whitegrid"), **seaborn.plotting_context("paper")}
    for key, value in expected.items():
        if key in ("font.sans-serif", "image.cmap"):
            continue
        if isinstance(value, float):
            assert RC[key] == pytest.approx(value), key
        else:
            assert RC[key] == value, key
    assert RC["font.sans-serif"] == ["DejaVu Sans"] and RC["svg.hashsalt"] == "pokeviz"


def test_readme_example_images_are_small_300_dpi_pngs() -> None:
    images = Path(__file__).resolve().parent.parent / "docs" / "images"
    for name in ("demo_rewards.png", "demo_heatmap.png"):
        path = images / name
        assert path.stat().st_size < 300_000, name
        assert [round(v) for v in png_dpi(path)] == [300, 300]


def test_a_run_without_any_entry_still_plots_and_says_so(make_run, tmp_path: Path) -> None:
    run = make_run({"stats_1.json": "", "stats_2.json": "[]"})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layout warning either
        result = plot_run(run, map_data=None, output_dir=tmp_path / "out")
    assert [p.name for p in result.paths] == [
        "v4_20260101_000000_rewards.png", "v4_20260101_000000_heatmap.png"
    ]
    lines = "\n".join(result.lines())
    assert "0 of 0 entries sampled" in lines and "; 2 problems" in lines


def test_the_sampled_curve_shows_no_environment_blocks(tmp_path: Path) -> None:
    """Entries are env-major: 4 environments × 25 steps, each walking its episode reward
    up from 0 to 24. In step order that is a saw-tooth; smoothed in rollout order the
    curve stays near the file's mean (12 in file 1, 112 in file 2)."""
    run = deep_root(tmp_path) / "v4" / "20260101_000000"
    logs = run / "json_logs"
    logs.mkdir(parents=True)
    for n, offset in ((100, 0.0), (200, 100.0)):
        entries = [entry(0, step % 5, 0, offset + step) for _env in range(4)
                   for step in range(25)]
        (logs / f"stats_{n}.json").write_text(json.dumps(entries))
    total = plot_run(run, formats=("html",), output_dir=tmp_path / "out",
                     smooth_window=40).rewards.series["reward_total"]
    assert len(total.sample_value) == 200 and total.window == 40
    # Windows inside one file: centred at most 20 steps from its ends.
    inside_1 = total.smooth_value[total.smooth_step <= 80.5]
    inside_2 = total.smooth_value[total.smooth_step >= 120.5]
    assert len(inside_1) and len(inside_2)
    assert np.all(np.abs(inside_1 - 12.0) < 4.0), inside_1
    assert np.all(np.abs(inside_2 - 112.0) < 4.0), inside_2
    # The raw samples keep their own steps (the saw-tooth is in the data, not the curve).
    assert total.sample_value[:26].tolist() == [*range(25), 0]


def test_one_colour_per_metric_in_every_figure() -> None:
    from pokeviz.plots.style import PALETTE, metric_color

    assert metric_color("reward_heal") == "#d55e00"  # whichever other metrics a run has
    standard = [metric_color(m) for m in ("reward_total", "reward_event", "reward_level",
                                         "reward_heal", "reward_badge", "reward_explore",
                                         "reward_dead", "reward_stuck")]
    assert len(set(standard)) == 8 and set(standard) <= set(PALETTE)
    assert metric_color("reward_op_lvl") == metric_color("reward_op_lvl")
    assert metric_color("reward_op_lvl") not in standard


def test_compact_tick_labels() -> None:
    from pokeviz.plots.style import compact_labels

    assert compact_labels([0, 0.25, 0.5]) == ["0", "0.25", "0.50"]
    assert compact_labels([-0.004, -0.002, 0.0]) == ["-0.004", "-0.002", "0"]
    assert compact_labels([0, 5000, 10000]) == ["0", "5K", "10K"]
    assert compact_labels([12.344, 12.345]) == ["12.344", "12.345"]
    assert compact_labels([0, 2.5e6, 5e6]) == ["0", "2.5M", "5.0M"]


def test_same_bytes_in_one_process_or_two(synth_root: Path, tmp_path: Path) -> None:
    run = synth_root / "v4" / "20260102_000000"
    one = plot_run(run, formats=("png", "svg"), output_dir=tmp_path / "one", parallel=False)
    two = plot_run(run, formats=("png", "svg"), output_dir=tmp_path / "two", parallel=True,
                   update=False)
    assert [p.name for p in one.paths] == [p.name for p in two.paths] == [
        "v4_20260102_000000_rewards.png", "v4_20260102_000000_rewards.svg",
        "v4_20260102_000000_heatmap.png", "v4_20260102_000000_heatmap.svg"]
    for a, b in zip(one.paths, two.paths, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
