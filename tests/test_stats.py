"""pokeviz.stats: intervals, scores, aggregates, milestones and ``pokeviz stats``."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from pokeviz.api import open_run
from pokeviz.cli import main
from pokeviz.errors import PokevizError
from pokeviz.kanto import load_map_table
from pokeviz.stats import (
    StatsResult,
    band_half_width,
    half_width,
    improvement_probability,
    milestones,
    t_quantile,
    variant_stats,
)
from pokeviz.synth import synth_experiments, synth_run, write_map_table

from .conftest import nested_entry

#: t(0.975, 1) to full precision (tan(0.475 π)), independent of scipy.
T_DF1 = math.tan(0.475 * math.pi)


def _t_cdf(q: float, df: int, n: int = 200_001) -> float:
    """P(T ≤ q) by Simpson's rule on the density (independent of scipy)."""
    x = np.linspace(0.0, q, n)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_c - (df + 1) / 2 * np.log1p(x * x / df))
    h = q / (n - 1)
    simpson = h / 3 * (density[0] + density[-1] + 4 * density[1:-1:2].sum()
                       + 2 * density[2:-1:2].sum())
    return 0.5 + simpson


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 29, 30, 31, 45, 100, 1000])
def test_t_quantile_is_the_975_quantile(df: int) -> None:
    assert _t_cdf(t_quantile(df), df) == pytest.approx(0.975, abs=2e-7)


def test_t_quantile_values_and_limits() -> None:
    assert t_quantile(1) == pytest.approx(T_DF1, abs=5e-7)
    assert t_quantile(2) == 4.302653  # the printed table's value
    assert t_quantile(10**6) == pytest.approx(1.959966, abs=1e-6)
    assert t_quantile(4, 0.90) == 2.131847
    qs = [t_quantile(df) for df in range(1, 40)]
    assert all(a > b for a, b in zip(qs, qs[1:], strict=False))
    with pytest.raises(ValueError):
        t_quantile(0)
    with pytest.raises(ValueError):
        t_quantile(3, 1.5)


def test_half_width_and_bands() -> None:
    values = np.array([[1.0, 2.0], [3.0, 2.0], [8.0, 2.0]])
    sd = np.array([np.std([1.0, 3.0, 8.0], ddof=1), 0.0])
    np.testing.assert_allclose(half_width(values), t_quantile(2) * sd / math.sqrt(3))
    assert half_width([1.0, 3.0]) == pytest.approx(T_DF1 * math.sqrt(2) / math.sqrt(2),
                                                   rel=1e-6)
    np.testing.assert_allclose(band_half_width(values, "sd"), sd)
    np.testing.assert_allclose(band_half_width(values, "se"), sd / math.sqrt(3))
    np.testing.assert_allclose(band_half_width(values, "ci95"), half_width(values))
    assert band_half_width(values, "none") is None
    assert band_half_width(values[:1], "ci95") is None  # one run: no spread to show
    with pytest.raises(ValueError, match="at least 2 runs"):
        half_width([1.0])
    with pytest.raises(ValueError, match="unknown band"):
        band_half_width(values, "iqr")


# ---------------------------------------------------------------------------
# Milestones


def file_order(path: Path) -> tuple[int, str]:
    """File order as the log format defines it: the number in the name, ties by name."""
    return (int(re.search(r"(\d+)\.json$", path.name).group(1)), path.name)


def json_map_milestones(run_dir: Path) -> dict[int, int]:
    """Each map's first global step, from the JSON: min over entries of T − n + 1 + i."""
    first: dict[int, int] = {}
    running = 0
    for path in sorted((run_dir / "json_logs").glob("stats_*.json"), key=file_order):
        entries = json.loads(path.read_text())
        n = len(entries)
        running += n
        t = entries[-1].get("total_steps", running) if n else running
        for i, entry in enumerate(entries):
            m = entry["position"]["map"]
            first[m] = min(first.get(m, t - n + 1 + i), t - n + 1 + i)
    return first


@pytest.mark.parametrize("fmt", ["nested_total", "nested"])
def test_map_milestones_equal_the_json(tmp_path: Path, fmt: str) -> None:
    run = synth_run(tmp_path / "experiments", variant="v4", files=6, envs=3,
                    steps_per_env=150, fmt=fmt, seed=7).run_dir
    write_map_table(tmp_path / "map_data.json")
    table = load_map_table(tmp_path / "map_data.json")
    with open_run(run, jobs=1) as view:
        found = milestones(view, table)
        sql = view.con.execute("SELECT kind, key, first_global_step FROM milestones "
                               "WHERE kind = 'map'").fetchall()
    maps = [m for m in found if m.kind == "map"]
    expected = json_map_milestones(run)
    assert {m.key: m.first_global_step for m in maps} == expected
    assert len(expected) >= 3
    assert [(m.kind, m.key, m.first_global_step) for m in maps] == sql
    assert [m.first_global_step for m in maps] == sorted(expected.values())
    for m in maps:
        assert m.name == (table.maps[m.key].name if m.key in table.maps else None)
        assert m.label == (m.name or f"map {m.key}")


def test_badge_milestones_from_statistics_and_samples(make_run) -> None:
    # File 1: 60 entries, badges 0 → 2 at entry 30 (every entry is a sample: exact).
    # File 2: 400 entries, badge 3 at entry 350 only (samples may miss it).
    one = [nested_entry(i, total_steps=60, map_id=0) for i in range(60)]
    for i, entry in enumerate(one):
        entry["player_status"]["badges"] = 0 if i < 20 else (1 if i < 30 else 2)
    two = [nested_entry(i, total_steps=460, map_id=12) for i in range(400)]
    for i, entry in enumerate(two):
        entry["player_status"]["badges"] = 3 if i >= 350 else 2
    run = make_run({"stats_1.json": one, "stats_2.json": two})
    with open_run(run, jobs=1) as view:
        badges = [m for m in milestones(view) if m.kind == "badge"]
        samples = view.con.execute("SELECT min(global_step) FROM samples WHERE badges >= 3"
                                   ).fetchone()[0]
    assert [(m.key, m.first_global_step) for m in badges[:2]] == [(1, 21), (2, 31)]
    assert badges[2].key == 3 and badges[2].name is None and badges[2].label == "badge 3"
    exact = 60 + 351
    assert exact <= badges[2].first_global_step <= 460  # within the file that reached it
    assert badges[2].first_global_step == (samples if samples is not None else 460)


# ---------------------------------------------------------------------------
# pokeviz stats on generated variants (5 runs each, one variant with a 6th short run)

VARIANTS = ("v1", "v2", "v4")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stats") / "w" / "x" / "y" / "z" / "experiments"
    synth_experiments(root, variants=VARIANTS, runs=5, files=4, envs=2, steps_per_env=40)
    synth_run(root, variant="v2", timestamp="20260102_000000", files=2, envs=2,
              steps_per_env=40, seed=99, start_seconds=1767312000)
    return root


@pytest.fixture(scope="module")
def result(root: Path) -> StatsResult:
    return variant_stats(experiments_dir=root, jobs=1, reps=500, seed=3, figures=False)


def json_files(run_dir: Path) -> list[tuple[int, int, list[dict]]]:
    """Each log file as (first global step, last global step, entries), in file order."""
    out, running = [], 0
    for path in sorted((run_dir / "json_logs").glob("stats_*.json"), key=file_order):
        entries = json.loads(path.read_text())
        running += len(entries)
        last = entries[-1].get("total_steps", running)
        out.append((last - len(entries) + 1, last, entries))
    return out


def json_score(run_dir: Path, at: str | int = "final") -> float | None:
    files = json_files(run_dir)
    chosen = files[-1] if at == "final" else next((f for f in files if f[1] >= at), None)
    if chosen is None:
        return None
    return float(np.mean([e["rewards"]["total"] for e in chosen[2]]))


def numpy_iqm(values: np.ndarray) -> float:
    ordered = np.sort(values)
    cut = int(len(ordered) * 0.25)
    return float(ordered[cut:len(ordered) - cut].mean())


def variant_runs(root: Path, variant: str) -> list[Path]:
    return sorted(p for p in (root / variant).iterdir() if (p / "json_logs").is_dir())


def test_aggregates_equal_numpy_on_scores_from_the_json(root: Path,
                                                        result: StatsResult) -> None:
    assert [a.variant for a in result.aggregates] == list(VARIANTS)
    for a in result.aggregates:
        scores = np.array([json_score(d) for d in variant_runs(root, a.variant)])
        np.testing.assert_allclose(result.scores[a.variant], scores, rtol=1e-12)
        assert a.runs == len(scores) == (6 if a.variant == "v2" else 5)
        assert a.iqm == pytest.approx(numpy_iqm(scores), rel=1e-12)
        assert a.mean == pytest.approx(float(np.mean(scores)), rel=1e-12)
        assert a.median == pytest.approx(float(np.median(scores)), rel=1e-12)
        assert a.optimality_gap is None  # reward has no known best value


def test_every_interval_holds_its_point_estimate(result: StatsResult) -> None:
    for a in result.aggregates:
        for name in ("iqm", "mean", "median"):
            low, high = getattr(a, f"{name}_ci")
            assert low <= getattr(a, name) <= high, (a.variant, name)
    assert len(result.improvement) == len(VARIANTS) * (len(VARIANTS) - 1)
    for pair in result.improvement:
        assert pair.ci[0] <= pair.p <= pair.ci[1]
        assert 0.0 <= pair.ci[0] <= pair.ci[1] <= 1.0
    summaries = [s for v in VARIANTS for s in result.milestones[v]]
    assert summaries
    for s in summaries:
        if s.reached >= 2:
            assert s.ci[0] <= s.mean <= s.ci[1]
        else:
            assert s.ci is None
    for curve in result.curves.values():
        assert curve.runs >= 5 and len(curve.steps) >= 2
        assert np.all(curve.low <= curve.iqm + 1e-12) and np.all(curve.iqm <= curve.high + 1e-12)


def test_probability_of_improvement_is_the_pairwise_count(result: StatsResult) -> None:
    for pair in result.improvement:
        xs, ys = result.scores[pair.x], result.scores[pair.y]
        count = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in xs for y in ys)
        assert pair.p == pytest.approx(count / (len(xs) * len(ys)), abs=1e-12)
    by_pair = {(p.x, p.y): p.p for p in result.improvement}
    assert by_pair[("v1", "v4")] + by_pair[("v4", "v1")] == pytest.approx(1.0)
    assert improvement_probability(np.array([1.0, 2.0]), np.array([2.0, 0.0])) == 0.625


def test_milestones_per_run_and_per_variant(root: Path, result: StatsResult) -> None:
    for run in result.runs:
        expected = json_map_milestones(run.run.path)
        assert {m.key: m.first_global_step for m in run.milestones if m.kind == "map"} == (
            expected)
    for v in VARIANTS:
        runs = [r for r in result.runs if r.variant == v]
        for s in result.milestones[v]:
            steps = [m.first_global_step for r in runs for m in r.milestones
                     if (m.kind, m.key) == (s.kind, s.key)]
            assert s.reached == len(steps) and s.runs == len(runs)
            assert s.mean == pytest.approx(np.mean(steps))


def test_score_at_a_step_leaves_out_shorter_runs(root: Path) -> None:
    step = 200  # in the 3rd file of every 5-run run (80, 80, 80, 40 entries), beyond the short run
    out = variant_stats(experiments_dir=root, jobs=1, at=step, reps=200, figures=False)
    for v in VARIANTS:
        expected = [s for s in (json_score(d, step) for d in variant_runs(root, v))
                    if s is not None]
        np.testing.assert_allclose(out.scores[v], expected, rtol=1e-12)
    assert len(out.scores["v2"]) == 5
    assert out.warnings == ["run v2/20260102_000000 left out: it ends at global step 120, "
                            "before 200"]
    with pytest.raises(PokevizError, match=r"--at 1,000,000: beyond every run \(the longest "
                                           r"ends at global step 280\)"):
        variant_stats(experiments_dir=root, jobs=1, at=1_000_000, figures=False)


def test_one_run_gives_no_interval_and_a_warning(root: Path, tmp_path: Path) -> None:
    out = variant_stats(["v1", "v4"], experiments_dir=root, runs="latest", jobs=1, reps=200,
                        output_dir=tmp_path)
    assert all(a.runs == 1 and a.iqm_ci is None and a.mean_ci is None for a in out.aggregates)
    assert all(p.ci is None for p in out.improvement)
    assert "variant v1: 1 run, so no confidence interval (bootstrap needs at least 2 runs)" in (
        out.warnings)
    assert all(c.low is None for c in out.curves.values())
    assert [p.name for p in out.paths] == [
        "stats_v1-v4_reward_total_final_intervals.png",
        "stats_v1-v4_reward_total_final_improvement.png",
        "stats_v1-v4_reward_total_efficiency.png", "stats_v1-v4_milestones.png"]


def test_unknown_metric_lists_the_valid_names(root: Path) -> None:
    with pytest.raises(PokevizError) as error:
        variant_stats(experiments_dir=root, metric="speed", jobs=1, figures=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("unknown metric 'speed': use one of ")
    for name in ("reward_total", "reward_explore", "badges", "explored_tiles"):
        assert name in message


def test_explored_tiles_and_badges(root: Path) -> None:
    out = variant_stats(["v4"], experiments_dir=root, metric="explored_tiles", jobs=1,
                        reps=200, figures=False)
    for run in out.runs:
        tiles = {(e["position"]["map"], e["position"]["x"], e["position"]["y"])
                 for _, _, entries in json_files(run.run.path) for e in entries}
        assert run.score() == len(tiles)
    badges = variant_stats(["v4"], experiments_dir=root, metric="badges", jobs=1, reps=200,
                           figures=False)
    assert badges.aggregates[0].optimality_gap == pytest.approx(
        8 - np.mean(np.minimum(badges.scores["v4"], 8)))


# ---------------------------------------------------------------------------
# The command


def invoke(*args: object) -> click.testing.Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_output_is_identical_on_a_rerun(root: Path, tmp_path: Path) -> None:
    outputs = []
    for _ in range(2):
        out = invoke("stats", "--experiments-dir", root, "--format", "json", "--reps", 300,
                     "--output-dir", tmp_path, "-j", 1)
        assert out.exit_code == 0, out.output
        outputs.append((out.stdout, {p.name: p.read_bytes() for p in tmp_path.iterdir()}))
    assert outputs[0] == outputs[1]
    document = json.loads(outputs[0][0])
    assert set(document) >= {"aggregates", "improvement", "milestones", "metric", "at"}
    assert set(document["aggregates"][0]) >= {"variant", "runs", "iqm", "iqm_ci", "mean",
                                              "mean_ci", "median", "median_ci"}
    assert set(document["improvement"][0]) == {"x", "y", "p", "ci"}
    assert set(document["milestones"][0]) == {"variant", "run", "kind", "key", "name",
                                              "first_global_step"}
    assert len(outputs[0][1]) == 4
    for data in outputs[0][1].values():
        with Image.open(io.BytesIO(data)) as image:
            assert [round(v) for v in image.info["dpi"]] == [300, 300]


def test_cli_latex_is_a_tabular_with_the_best_in_bold(root: Path, result: StatsResult) -> None:
    out = invoke("stats", "--experiments-dir", root, "--format", "latex", "--reps", 500,
                 "--seed", 3, "--no-figures", "-j", 1)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == r"\begin{tabular}{lrlll}" and r"\end{tabular}" in lines
    best = max(result.aggregates, key=lambda a: a.iqm)
    row = next(line for line in lines if line.startswith(f"{best.variant} & "))
    assert row.split(" & ")[2].startswith(rf"\textbf{{{best.iqm:,.2f}}}")
    assert sum(line.endswith(r"\\") for line in lines) == 1 + len(VARIANTS)


def test_cli_table_and_errors(root: Path) -> None:
    out = invoke("stats", "v1", "v4", "--experiments-dir", root, "--reps", 200, "--no-figures",
                 "-j", 1)
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("metric   reward_total: exact mean over every entry of "
                                 "each run's last log file")
    assert "P(v4 > v1)" in out.stdout and out.stdout.rstrip().splitlines()[-1].startswith("time")
    bad = invoke("stats", "--experiments-dir", root, "--metric", "speed", "-j", 1)
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: unknown metric 'speed': use one of ")
    beyond = invoke("stats", "--experiments-dir", root, "--at", "5000000", "-j", 1)
    assert beyond.exit_code == 1 and "beyond every run" in beyond.output
    step = invoke("stats", "--experiments-dir", root, "--at", "soon", "-j", 1)
    assert step.output == "Error: --at soon: use final or a global step (a whole number)\n"
