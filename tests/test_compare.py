"""pokeviz compare: the plotted means and bands against numbers computed from `pokeviz sql`."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

import pokeviz
from pokeviz.cli import main
from pokeviz.discover import runs_of_variant
from pokeviz.plots.compare import (
    EXTRA_COLORS,
    METRICS,
    RunSeries,
    compare_variants,
    comparison_figure,
    figure_data,
    mean_and_band,
    variant_color,
    variant_colors,
)
from pokeviz.plots.compare.colors import delta_e2000, srgb_to_lab
from pokeviz.plots.style import PALETTE, save_figure, theme
from pokeviz.stats import t_quantile
from pokeviz.synth import synth_run, write_map_table

from .conftest import deep_root, nested_entry

VARIANTS = ("v1", "v2", "v3", "v4")
#: t(0.975, 1) to full precision (tan(0.475 π)), independent of the module's table.
T_DF1 = math.tan(0.475 * math.pi)


pytestmark = pytest.mark.usefixtures("no_map_table_from_the_environment")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1-v4, two runs each with different seeds and lengths, and a map table."""
    root = deep_root(tmp_path_factory.mktemp("compare"))
    for variant in VARIANTS:
        synth_run(root, variant=variant, timestamp="20260101_000000", files=5, envs=2,
                  steps_per_env=40, seed=1)
        synth_run(root, variant=variant, timestamp="20260102_000000", files=7, envs=2,
                  steps_per_env=40, seed=2, start_seconds=1767312000)
    write_map_table(root / "map_data.json")
    return root


@pytest.fixture(scope="module")
def result(root: Path) -> pokeviz.CompareResult:
    return compare_variants(experiments_dir=root, metrics=METRICS, jobs=1)


def sql_rows(run_dir: Path, query: str) -> list[tuple]:
    return pokeviz.sql(run_dir, query, update=False)[1]


def run_dirs(root: Path, variant: str) -> list[Path]:
    return [r.path for r in runs_of_variant(root / variant)]


def expected_mean_band(points: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Independent: union grid within the common range, linear interpolation, t band."""
    start = max(s[0] for s, _ in points)
    end = min(s[-1] for s, _ in points)
    grid = np.array(sorted({float(x) for s, _ in points for x in s if start <= x <= end}))
    values = np.array([np.interp(grid, s, v) for s, v in points])
    mean = values.mean(axis=0)
    assert len(points) == 2
    half = T_DF1 * values.std(axis=0, ddof=1) / math.sqrt(2)
    return grid, mean, mean - half, mean + half


def reward_points(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    rows = sql_rows(run_dir, "SELECT first_global_step, last_global_step, mean FROM file_stats "
                             "WHERE metric = 'reward_total' ORDER BY first_global_step")
    return (np.array([(a + b) / 2 for a, b, _ in rows]), np.array([m for _, _, m in rows]))


# ---------------------------------------------------------------------------
# The figures' data against SQL


@pytest.mark.parametrize("variant", VARIANTS)
def test_reward_mean_and_band_match_sql(root: Path, result: pokeviz.CompareResult,
                                        variant: str) -> None:
    series = result.figures["reward_total"].panels[0].variants[variant]
    points = [reward_points(d) for d in run_dirs(root, variant)]
    for run, (steps, values) in zip(series.runs, points, strict=True):
        np.testing.assert_allclose(run.steps, steps)
        np.testing.assert_allclose(run.values, values, rtol=1e-12)
    grid, mean, low, high = expected_mean_band(points)
    assert series.n_runs == 2 and series.has_band
    np.testing.assert_allclose(series.grid, grid)
    np.testing.assert_allclose(series.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(series.low, low, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(series.high, high, rtol=1e-6, atol=1e-9)
    # The runs have different lengths: the mean stops where the shorter one ends.
    assert grid[-1] == min(p[0][-1] for p in points) < max(p[0][-1] for p in points)
    assert any(n.startswith(f"{variant}: mean and band up to step")
               for n in result.figures["reward_total"].notes)


def test_the_figure_draws_exactly_that_data(result: pokeviz.CompareResult) -> None:
    from matplotlib.collections import PolyCollection

    data = result.figures["reward_total"]
    with theme():
        fig = comparison_figure(data)
    overlay = fig.axes[1]  # axes[0] is the legend row
    lines = {line.get_label(): line for line in overlay.get_lines()}
    bands = [c for c in overlay.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(VARIANTS)
    for variant, band in zip(VARIANTS, bands, strict=True):
        series = data.panels[0].variants[variant]
        line = lines[f"{variant}: mean of 2 runs ± 95 % CI (t, df 1)"]
        np.testing.assert_array_equal(line.get_xdata(), series.grid)
        np.testing.assert_array_equal(line.get_ydata(), series.mean)
        assert line.get_color() == variant_color(variant)
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.min() == pytest.approx(series.low.min())
        assert ys.max() == pytest.approx(series.high.max())
    legend = fig.axes[0].get_legend()
    assert "thin (per-variant panels): single runs, exact per-file values" in [
        t.get_text() for t in legend.get_texts()]


def test_the_same_figure_gives_the_same_bytes_every_time(result: pokeviz.CompareResult,
                                                        tmp_path: Path) -> None:
    # The constrained layout can differ in the last bits between constructions; SVG
    # clip-path ids hash the axes boxes, so positions are rounded. Without the rounding
    # this fails only intermittently (the first construction in some processes differs).
    for metric in ("reward_total", "badges"):
        seen = set()
        for i, first in enumerate(("svg", "png", "pdf", "svg", "pdf", "png")):
            with theme():
                fig = comparison_figure(result.figures[metric])
                if first != "svg":
                    save_figure(fig, tmp_path / f"{i}.{first}", first)
                seen.add(save_figure(fig, tmp_path / f"{i}.svg", "svg").read_bytes())
        assert len(seen) == 1, metric


def test_exploration_counts_global_tiles_from_sql(root: Path,
                                                  result: pokeviz.CompareResult) -> None:
    table = json.loads((root / "map_data.json").read_text())
    origin = {int(m["id"]): tuple(m["coordinates"]) for m in table["regions"]
              if int(m["id"]) != -1}
    series = result.figures["exploration"].panels[0].variants["v4"]
    points = []
    for run_dir, run in zip(run_dirs(root, "v4"), series.runs, strict=True):
        first_seen: dict[tuple, int] = {}
        for m, x, y, step in sql_rows(run_dir, "SELECT map, x, y, first_global_step "
                                               "FROM tiles"):
            key = (origin[m][0] + x, origin[m][1] + y) if m in origin else ("local", m, x, y)
            first_seen[key] = min(step, first_seen.get(key, step))
        files = sql_rows(run_dir, "SELECT first_global_step, last_global_step FROM files "
                                  "WHERE entries > 0 ORDER BY file_order")
        steps = np.array([files[0][0]] + [last for _, last in files], dtype=float)
        counts = np.array([sum(1 for s in first_seen.values() if s <= x) for x in steps],
                          dtype=float)
        np.testing.assert_array_equal(run.steps, steps)
        np.testing.assert_array_equal(run.values, counts)
        points.append((steps, counts))
        assert counts[-1] == len(first_seen) <= sql_rows(run_dir, "SELECT count(*) FROM "
                                                                  "tiles")[0][0]
    grid, mean, low, high = expected_mean_band(points)
    np.testing.assert_allclose(series.mean, mean)
    np.testing.assert_allclose(series.low, low, rtol=1e-6, atol=1e-9)


def test_levels_panels_are_per_file_mean_and_max(root: Path,
                                                 result: pokeviz.CompareResult) -> None:
    panels = {p.key: p for p in result.figures["levels"].panels}
    assert list(panels) == ["levels_sum_mean", "levels_sum_max"]
    run_dir = run_dirs(root, "v2")[0]
    rows = sql_rows(run_dir, "SELECT mean, max FROM file_stats WHERE metric = 'levels_sum' "
                             "ORDER BY first_global_step")
    np.testing.assert_allclose(panels["levels_sum_mean"].variants["v2"].runs[0].values,
                               [r[0] for r in rows])
    np.testing.assert_allclose(panels["levels_sum_max"].variants["v2"].runs[0].values,
                               [r[1] for r in rows])
    assert {p.key for p in result.figures["deaths"].panels} == {"deaths_mean", "deaths_max"}
    assert result.figures["levels"].floor == 0.0


def test_table_compares_like_with_like(root: Path, result: pokeviz.CompareResult) -> None:
    assert result.table[0].split()[:7] == ["variant", "runs", "entries", "last", "step",
                                           "reward", "at"]
    for variant, line in zip(VARIANTS, result.table[1:], strict=True):
        dirs = run_dirs(root, variant)
        entries = sum(sql_rows(d, "SELECT sum(entries) FROM files")[0][0] for d in dirs)
        last = max(sql_rows(d, "SELECT max(last_global_step) FROM files")[0][0] for d in dirs)
        # Every run at the largest step all of them reached: the shorter run's end.
        ranges = [sql_rows(d, "SELECT last_global_step, mean FROM file_stats WHERE metric = "
                              "'reward_total' ORDER BY last_global_step") for d in dirs]
        common = min(r[-1][0] for r in ranges)
        assert common < last
        finals = [next(m for end, m in r if end >= common) for r in ranges]
        half = T_DF1 * np.std(finals, ddof=1) / math.sqrt(2)
        cells = line.split()
        assert cells[:5] == [variant, "2", f"{entries:,}", f"{last:,}", f"{common:,}"]
        assert f"{np.mean(finals):.2f} ± {half:.2f}" in line
    assert result.warnings == []


def test_files_named_and_written(root: Path, result: pokeviz.CompareResult) -> None:
    assert result.paths == [root / "plots" / f"compare_v1-v2-v3-v4_{m}.png" for m in METRICS]
    for path in result.paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.map_table is not None
    assert any("global Kanto tiles from" in line for line in result.lines())


def test_rerun_reads_nothing_and_gives_identical_bytes(root: Path,
                                                       result: pokeviz.CompareResult) -> None:
    assert result.files_read == 8 * 6  # 5 or 7 files per run, each read once
    before = {p: p.read_bytes() for p in result.paths}
    again = compare_variants(experiments_dir=root, metrics=METRICS, jobs=1)
    assert again.files_read == 0
    assert all(len(d.report.update.ingested) == 0 for v in again.variants for d in v.runs)
    assert {p: p.read_bytes() for p in again.paths} == before
    assert again.table == result.table


def test_latest_runs_only(root: Path, tmp_path: Path) -> None:
    out = compare_variants(["v3", "v1"], experiments_dir=root, runs="latest",
                           metrics=["reward_total"], output_dir=tmp_path, jobs=1)
    assert out.paths == [tmp_path / "compare_v3-v1_reward_total.png"]
    panel = out.figures["reward_total"].panels[0]
    assert list(panel.variants) == ["v3", "v1"]
    for series in panel.variants.values():
        assert series.n_runs == 1 and not series.has_band
        assert series.runs[0].run.timestamp == "20260102_000000"
        np.testing.assert_array_equal(series.mean, series.runs[0].values)
    assert "(1 run, no CI)" in out.table[1]


# ---------------------------------------------------------------------------
# One run, no usable logs, no map table, overlapping maps


@pytest.fixture(scope="module")
def odd_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 (2 runs), solo (1 run), broken (an empty log file; a folder without json_logs)."""
    root = deep_root(tmp_path_factory.mktemp("odd"))
    for i, ts in enumerate(("20260101_000000", "20260102_000000")):
        synth_run(root, variant="v1", timestamp=ts, files=3, envs=2, steps_per_env=16, seed=i)
    synth_run(root, variant="solo", files=3, envs=2, steps_per_env=16)
    empty = root / "broken" / "20260101_000000" / "json_logs"
    empty.mkdir(parents=True)
    (empty / "stats_1767225600.json").write_text("")
    (root / "broken" / "20260102_000000").mkdir()
    return root


def test_one_run_has_no_band_and_a_broken_variant_is_named(odd_root: Path) -> None:
    out = compare_variants(experiments_dir=odd_root, jobs=1)
    assert [v.name for v in out.variants] == ["broken", "solo", "v1"]
    assert out.paths[0].name == "compare_solo-v1_reward_total.png"  # only the variants drawn
    assert len(out.warnings) == 1
    assert out.warnings[0].startswith("variant broken: no usable log files in")
    # Reported as `pokeviz ingest` reports it: an empty file is not "no complete entry yet".
    assert "stats_1767225600.json: empty: empty file (0 bytes)" in out.warnings[0]
    assert "no complete entry yet" not in out.warnings[0]
    assert "20260102_000000" not in out.warnings[0]  # no json_logs/: not a run
    panel = out.figures["reward_total"].panels[0]
    assert list(panel.variants) == ["solo", "v1"]
    solo = panel.variants["solo"]
    assert solo.n_runs == 1 and not solo.has_band and solo.low is None
    assert solo.label == "solo: 1 run, no band"
    assert panel.variants["v1"].has_band
    assert solo.color == EXTRA_COLORS[1]  # "broken" ranks first among the other names
    with theme():
        fig = comparison_figure(out.figures["reward_total"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "broken: no usable log files (not drawn)" in out.figures["reward_total"].notes
    assert "solo: 1 run, no band" in labels
    assert any(line.startswith("broken  ") and "no usable log files" in line
               for line in out.table)
    # No map table anywhere near: exploration counts (map, x, y) triples.
    assert out.map_table is None
    run_dir = runs_of_variant(odd_root / "solo")[0].path
    assert solo.runs[0].values[-1] > 0
    tiles = out.figures["exploration"].panels[0].variants["solo"].runs[0].values[-1]
    assert tiles == sql_rows(run_dir, "SELECT count(*) FROM tiles")[0][0]
    assert "(map, x, y) tiles, no map table" in out.figures["exploration"].panels[0].title


def test_no_usable_variant_at_all_is_an_error(odd_root: Path) -> None:
    with pytest.raises(pokeviz.NoLogFilesError, match="no usable log files in broken"):
        compare_variants(["broken"], experiments_dir=odd_root, jobs=1)
    with pytest.raises(pokeviz.RunNotFoundError, match="no such variant folder; variants "
                                                       "here: broken, solo, v1"):
        compare_variants(["v9"], experiments_dir=odd_root)
    with pytest.raises(pokeviz.PokevizError, match="unknown metric speed"):
        compare_variants(experiments_dir=odd_root, metrics=["speed"])


def test_two_maps_on_one_global_tile_count_once(make_run, tmp_path: Path) -> None:
    entries = [nested_entry(i, total_steps=40, map_id=m, x=i % 5, y=(i // 5) % 4)
               for m in (0, 12) for i in range(20)]
    make_run({"stats_1.json": entries}, variant="v4")
    table = tmp_path / "table.json"
    # Maps 0 and 12 at the same origin: (0, x, y) and (12, x, y) are one global tile.
    table.write_text(json.dumps({"regions": [
        {"id": "0", "name": "A", "coordinates": [3, 4], "tileSize": [5, 4]},
        {"id": "12", "name": "B", "coordinates": [3, 4], "tileSize": [5, 4]},
    ]}))
    experiments = tmp_path / "experiments"
    with_table = compare_variants(experiments_dir=experiments, metrics=["exploration"],
                                  map_data=table, jobs=1)
    without = compare_variants(experiments_dir=experiments, metrics=["exploration"],
                               map_data=None, jobs=1)
    # Every (x, y) of a 5 x 4 area, on map 0 and on map 12.
    assert with_table.variants[0].runs[0].tiles == 20
    assert without.variants[0].runs[0].tiles == 40
    assert with_table.figures["exploration"].panels[0].variants["v4"].runs[0].values[-1] == 20


# ---------------------------------------------------------------------------
# Pieces


def test_fixed_colours() -> None:
    assert variant_color("v1") == PALETTE[0] == "#0173b2"  # blue
    assert variant_color("v2") == PALETTE[2] == "#029e73"  # green
    assert variant_color("v3") == PALETTE[1] == "#de8f05"  # orange
    assert variant_color("v4") == "#d62728"  # a true red
    assert variant_color("v4", 5) == variant_color("v4")  # the index does not matter
    assert variant_color("lstm", 0) == EXTRA_COLORS[0]
    assert variant_color("lstm", len(EXTRA_COLORS)) == EXTRA_COLORS[0]  # repeats
    colors = variant_colors(["v4", "zeta", "v1", "alpha"])
    assert colors == {"v4": "#d62728", "zeta": EXTRA_COLORS[1], "v1": PALETTE[0],
                      "alpha": EXTRA_COLORS[0]}
    assert len(set(EXTRA_COLORS) | {variant_color(v) for v in VARIANTS}) == 10


def test_mean_and_band_never_extrapolates() -> None:
    a = RunSeries(run=None, steps=np.array([0.0, 10.0]), values=np.array([0.0, 10.0]))
    b = RunSeries(run=None, steps=np.array([2.0, 4.0, 6.0]), values=np.array([2.0, 2.0, 2.0]))
    grid, mean, low, high, t = mean_and_band([a, b])
    np.testing.assert_array_equal(grid, [2.0, 4.0, 6.0])  # only where both runs have data
    np.testing.assert_allclose(mean, [2.0, 3.0, 4.0])
    half = T_DF1 * np.array([0.0, 2.0, 4.0]) / math.sqrt(2) / math.sqrt(2)
    np.testing.assert_allclose(high - mean, half, rtol=1e-6)
    np.testing.assert_allclose(mean - low, half, rtol=1e-6)
    assert t == t_quantile(1) == pytest.approx(T_DF1, abs=5e-7)
    single = mean_and_band([b])
    np.testing.assert_array_equal(single[0], b.steps)
    assert single[2] is None and single[4] is None
    apart = RunSeries(run=None, steps=np.array([20.0, 30.0]), values=np.array([1.0, 1.0]))
    assert len(mean_and_band([a, apart])[0]) == 0  # no common range: no mean


# ---------------------------------------------------------------------------
# CLI


def invoke(*args: object) -> click.testing.Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_compare(root: Path, tmp_path: Path, result: pokeviz.CompareResult) -> None:
    out = invoke("compare", "v4", "v2", "--experiments-dir", root, "--output-dir", tmp_path,
                 "--metric", "reward_total,badges", "--format", "png,svg", "-v")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("run      v4/20260101_000000: 5 files (0 read)")
    header = next(i for i, line in enumerate(lines) if line.startswith("variant  runs"))
    assert lines[header + 1] == result.table[4] and lines[header + 2] == result.table[2]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".cache"] + [f"compare_v4-v2_{m}.{f}" for m in ("badges", "reward_total")
                                  for f in ("png", "svg")]
    assert "ingest   0 log files read (the rest cached)" in lines
    assert sum(line.startswith("wrote    ") for line in lines) == 4

    # Nothing changed: the four images are kept, byte for byte; --redraw draws them again.
    before = {p.name: p.read_bytes() for p in tmp_path.glob("compare_*")}
    again = invoke("compare", "v4", "v2", "--experiments-dir", root, "--output-dir", tmp_path,
                   "--metric", "reward_total,badges", "--format", "png,svg")
    assert again.exit_code == 0, again.output
    assert again.output.count("\nkept     ") == 4 and "wrote    " not in again.output
    assert {p.name: p.read_bytes() for p in tmp_path.glob("compare_*")} == before
    redrawn = invoke("compare", "v4", "v2", "--experiments-dir", root, "--output-dir",
                     tmp_path, "--metric", "reward_total,badges", "--format", "png,svg",
                     "--redraw")
    assert redrawn.exit_code == 0, redrawn.output
    assert redrawn.output.count("\nwrote    ") == 4 and "kept     " not in redrawn.output
    assert {p.name: p.read_bytes() for p in tmp_path.glob("compare_*")} == before
    other = invoke("compare", "v4", "v2", "--experiments-dir", root, "--output-dir",
                   tmp_path, "--metric", "reward_total,badges", "--format", "png,svg",
                   "--band", "sd")
    assert other.output.count("\nwrote    ") == 4, other.output  # another band, new figures


def test_cli_errors(root: Path) -> None:
    bad = CliRunner().invoke(main, ["compare", "--experiments-dir", str(root), "--metric",
                                    "speed"])
    assert bad.exit_code == 2
    assert "speed: use one or more of reward_total, exploration, badges, levels, deaths" in (
        bad.output)
    missing = invoke("compare", "v7", "--experiments-dir", root)
    assert missing.exit_code == 1
    assert f"Error: {root / 'v7'}: no such variant folder; variants here: v1, v2, v3, v4" in (
        missing.output)


# ---------------------------------------------------------------------------
# Demo and README image


def test_demo_also_compares_the_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pokeviz.demo

    monkeypatch.setattr(pokeviz.demo, "DEMO_FILES", 2)
    monkeypatch.setattr(pokeviz.demo, "DEMO_ENVS", 2)
    monkeypatch.setattr(pokeviz.demo, "DEMO_STEPS_PER_ENV", 16)
    out = invoke("demo", tmp_path / "demo", "--jobs", 1)
    assert out.exit_code == 0, out.output
    plots = tmp_path / "demo" / "plots"
    for metric in ("reward_total", "exploration"):
        assert f"wrote    {plots / f'compare_v1-v2-v3-v4_{metric}.png'}" in out.output


def test_readme_example_comparison_is_a_small_300_dpi_png() -> None:
    from PIL import Image

    path = Path(__file__).resolve().parent.parent / "docs" / "images" / (
        "demo_compare_reward_total.png")
    assert path.stat().st_size < 400_000
    with Image.open(path) as image:
        assert [round(v) for v in image.info["dpi"]] == [300, 300]


# ---------------------------------------------------------------------------
# Bands, y limits, colours, text boxes, HTML, broken files


@pytest.mark.parametrize("band", ["se", "sd", "none"])
def test_other_bands_and_y_limits_follow_the_data(root: Path, result: pokeviz.CompareResult,
                                                   band: str) -> None:
    data = figure_data("reward_total", result.variants, result.map_table, band)
    ci = result.figures["reward_total"].panels[0]
    panel = data.panels[0]
    for variant in VARIANTS:
        series, reference = panel.variants[variant], ci.variants[variant]
        np.testing.assert_array_equal(series.mean, reference.mean)
        values = np.vstack([np.interp(series.grid, r.steps, r.values) for r in series.runs])
        sd = values.std(axis=0, ddof=1)
        if band == "none":
            assert series.low is None and not series.has_band
            assert series.label == f"{variant}: mean of 2 runs no band"
            continue
        half = sd / math.sqrt(2) if band == "se" else sd
        np.testing.assert_allclose(series.high - series.mean, half, rtol=1e-12, atol=1e-12)
        assert series.t is None
    # The y range is the data's (means and runs), padded 5 %, whatever the band.
    lows = [min(float(s.mean.min()), *(float(r.values.min()) for r in s.runs))
            for s in panel.variants.values()]
    highs = [max(float(s.mean.max()), *(float(r.values.max()) for r in s.runs))
             for s in panel.variants.values()]
    pad = 0.05 * (max(highs) - min(lows))
    assert panel.ylim == pytest.approx((min(lows) - pad, max(highs) + pad))
    assert panel.ylim == ci.ylim


def test_a_wide_band_is_cut_at_the_axis_with_a_note(result: pokeviz.CompareResult) -> None:
    data = result.figures["reward_total"]
    panel = data.panels[0]
    cut = [s.variant for s in panel.variants.values()
           if s.low.min() < panel.ylim[0] or s.high.max() > panel.ylim[1]]
    assert cut, "two runs with t(df 1) give bands wider than the data"
    assert f"{', '.join(cut)}: the 95 % CI band is cut at the axis, which follows the " \
           "means and runs (few runs give wide bands)" in data.notes
    with theme():
        fig = comparison_figure(data)
    assert fig.axes[1].get_ylim() == pytest.approx(panel.ylim)


def test_the_four_variant_colours_differ_by_delta_e_20() -> None:
    from itertools import combinations

    # Reference pairs of Sharma, Wu & Dalal (2005), the CIEDE2000 test data.
    for lab1, lab2, expected in [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
                                 ((50, 2.5, 0), (73, 25, -18), 27.1492),
                                 ((50, 2.5, 0), (50, 0, -2.5), 4.3065),
                                 ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619),
                                  2.0373)]:
        assert delta_e2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)
    assert srgb_to_lab("#ffffff") == pytest.approx([100, 0, 0], abs=1e-3)
    for a, b in combinations(VARIANTS, 2):
        distance = delta_e2000(srgb_to_lab(variant_color(a)), srgb_to_lab(variant_color(b)))
        assert distance >= 20, (a, b, distance)
    # The old vermillion was too close to v3's orange.
    assert delta_e2000(srgb_to_lab("#d55e00"), srgb_to_lab(variant_color("v3"))) < 20


def test_no_text_overlaps_or_is_cut_off(result: pokeviz.CompareResult,
                                        odd_root: Path) -> None:
    from pokeviz.plots.layout import text_overlaps, texts_outside

    long = compare_variants(experiments_dir=odd_root, metrics=["badges"], jobs=1)
    figures = [*result.figures.values(), *long.figures.values()]
    for data in figures:
        with theme():
            fig = comparison_figure(data)
        assert text_overlaps(fig) == [], data.metric
        assert texts_outside(fig) == [], data.metric


def test_html_page_holds_the_exact_means(root: Path, tmp_path: Path) -> None:
    out = compare_variants(["v1", "v4"], experiments_dir=root, output_dir=tmp_path,
                           formats=["html", "png"], metrics=["reward_total"], jobs=1)
    page = tmp_path / "compare_v1-v4_reward_total.html"
    assert out.paths == [page, tmp_path / "compare_v1-v4_reward_total.png"]
    text = page.read_text()
    assert "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly.js inlined
    assert not re.search(r"<script[^>]+src=", text)
    figure = json.loads(re.search(r'Plotly\.newPlot\("compare-reward_total", (\[.*?\]), \{',
                                  text).group(1).replace("<\\/", "</"))
    for variant in ("v1", "v4"):
        for run_dir in run_dirs(root, variant):
            steps, means = reward_points(run_dir)
            trace = next((t for t in figure if t["name"] in
                          (f"{variant}/{run_dir.name}", f"{variant}: single runs")
                          and t["x"] == steps.tolist()), None)
            assert trace is not None and trace["y"] == means.tolist(), (variant, run_dir)
    before = page.read_bytes()
    compare_variants(["v1", "v4"], experiments_dir=root, output_dir=tmp_path,
                     formats=["html"], metrics=["reward_total"], jobs=1)
    assert page.read_bytes() == before


def test_a_garbage_file_is_an_error_not_a_partial_one(tmp_path: Path) -> None:
    experiments = deep_root(tmp_path)
    synth_run(experiments, variant="v1", files=2, envs=2, steps_per_env=8)
    logs = experiments / "junk" / "20260101_000000" / "json_logs"
    logs.mkdir(parents=True)
    (logs / "stats_1767225600.json").write_text("this is not json")
    partial = experiments / "cut" / "20260101_000000" / "json_logs"
    partial.mkdir(parents=True)
    (partial / "stats_1767225600.json").write_text('[\n  {"step": 0, "rewa')
    out = compare_variants(experiments_dir=experiments, jobs=1)
    junk = next(w for w in out.warnings if w.startswith("variant junk"))
    cut = next(w for w in out.warnings if w.startswith("variant cut"))
    assert "stats_1767225600.json: error: " in junk and "no complete entry yet" not in junk
    assert "its 1 log file has no complete entry yet" in cut
    assert out.paths[0].name == "compare_v1_reward_total.png"
