"""Every text of every run figure has its own place: no two text boxes overlap.

Checked on every figure ``pokeviz demo`` draws, on a 20-map run without a map table
(per-map panels), on legacy logs (the "not drawn" note) and on a run of one entry.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pokeviz.demo import DEMO_ENVS, DEMO_FILES, DEMO_RUNS, DEMO_STEPS_PER_ENV, DEMO_VARIANTS
from pokeviz.kanto import ENV_VAR
from pokeviz.plots import plot_run
from pokeviz.plots.heatmap import heatmap_figure
from pokeviz.plots.layout import drawn_texts, text_overlaps, texts_outside
from pokeviz.plots.rewards import reward_figure
from pokeviz.plots.style import theme
from pokeviz.synth import synth_experiments, synth_run

from .test_plots import deep_root, entry


@pytest.fixture(autouse=True)
def no_map_table_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def assert_texts_apart(fig: object) -> None:
    assert text_overlaps(fig) == []
    assert texts_outside(fig) == []


def run_figures(run: Path, tmp_path: Path, **options: object) -> tuple[object, object]:
    """The reward figure and heatmap of a run, as ``pokeviz plot`` draws them."""
    result = plot_run(run, formats=("html",), output_dir=tmp_path / "html", **options)
    title = f"{run.parent.name} · run {run.name}"
    with theme():
        return (reward_figure(result.rewards, title=f"{title} · reward per episode so far"),
                heatmap_figure(result.heatmap, title=f"{title} · visits per tile"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    experiments = deep_root(tmp_path_factory.mktemp("demo"))
    synth_experiments(experiments, variants=DEMO_VARIANTS, runs=DEMO_RUNS, files=DEMO_FILES,
                      envs=DEMO_ENVS, steps_per_env=DEMO_STEPS_PER_ENV)
    return experiments


def test_the_demo_run_figures(demo: Path, tmp_path: Path) -> None:
    latest = sorted((demo / "v4").iterdir())[-1]
    rewards, heatmap = run_figures(latest, tmp_path, map_data=demo / "map_data.json")
    assert_texts_apart(rewards)
    assert_texts_apart(heatmap)
    names = [t.get_text() for t in drawn_texts(heatmap)]
    assert "Pallet Town" in names  # the most visited map is named


def test_the_demo_compare_figures(demo: Path, tmp_path: Path) -> None:
    from pokeviz.plots.compare import compare_variants
    from pokeviz.plots.compare.figure import comparison_figure

    result = compare_variants(experiments_dir=demo, output_dir=tmp_path, formats=("html",),
                              map_data=demo / "map_data.json")
    assert list(result.figures) == ["reward_total", "exploration"]
    with theme():
        for data in result.figures.values():
            assert_texts_apart(comparison_figure(data))


@pytest.fixture(scope="module")
def twenty_maps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 maps of very different shapes (squares, a 60 × 1 strip, a 1 × 45 column, a
    single tile, large maps with 3-digit coordinates), no map table anywhere."""
    run = deep_root(tmp_path_factory.mktemp("maps")) / "v4" / "20260101_000000"
    logs = run / "json_logs"
    logs.mkdir(parents=True)
    shapes = [(60, 1), (1, 45), (1, 1), (120, 110), (9, 9), (30, 4), (4, 30), (18, 14),
              (7, 11), (25, 25), (2, 8), (40, 12), (12, 40), (6, 6), (100, 3), (3, 3),
              (15, 20), (50, 50), (8, 2), (10, 10)]
    entries = []
    for map_id, (width, height) in enumerate(shapes):
        for i in range(max(width, height) * 2 + map_id):
            entries.append(entry(map_id * 3, (i * 7) % width, (i * 5) % height,
                                 float(map_id), level=0.5 * i))
    (logs / "stats_100.json").write_text(json.dumps(entries))
    return run


def test_a_20_map_run_without_a_table(twenty_maps: Path, tmp_path: Path) -> None:
    rewards, heatmap = run_figures(twenty_maps, tmp_path)
    assert_texts_apart(rewards)
    assert_texts_apart(heatmap)
    texts = drawn_texts(heatmap)
    titles = [t for t in texts if t.get_text().startswith("map ")]
    assert len(titles) == 20
    boxes = [t._pokeviz_extent for t in titles]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    renderer = heatmap.canvas.get_renderer()
    panels, bar = heatmap.axes[:-1], heatmap.axes[-1]
    assert len(panels) == 20
    bar_box = bar.get_window_extent(renderer)
    assert not any(bar_box.overlaps(t._pokeviz_extent) for t in texts
                   if t.axes is not bar)  # the colour bar covers no title or label
    for ax in panels:
        box = ax.get_window_extent(renderer)
        (x0, x1), (y1, y0) = ax.get_xlim(), ax.get_ylim()
        # Square tiles: the axes' aspect is the shown tiles' aspect.
        assert box.height / box.width == pytest.approx((y1 - y0) / (x1 - x0), rel=0.02)
        # No crushed strips: no panel is thinner than a third of its length.
        assert min(box.width, box.height) >= max(box.width, box.height) / 3.01


def test_legacy_logs_keep_the_note_off_the_legend(tmp_path: Path) -> None:
    root = deep_root(tmp_path)
    synth_run(root, variant="v1", timestamp="20260101_000000", files=3, envs=2,
              steps_per_env=30, fmt="flat_legacy")
    rewards, heatmap = run_figures(root / "v1" / "20260101_000000", tmp_path)
    texts = [t.get_text() for t in drawn_texts(rewards)]
    assert any(t.startswith("not in these logs, not drawn: reward_total") for t in texts)
    assert_texts_apart(rewards)
    assert_texts_apart(heatmap)


def test_a_run_of_one_entry(tmp_path: Path) -> None:
    run = deep_root(tmp_path) / "v4" / "20260101_000000"
    (run / "json_logs").mkdir(parents=True)
    (run / "json_logs" / "stats_1.json").write_text(json.dumps([entry(3, 2, 1, 5.0)]))
    rewards, heatmap = run_figures(run, tmp_path)
    assert_texts_apart(rewards)
    assert_texts_apart(heatmap)
    total = rewards.axes[1]
    assert total.get_xlim() == (0.0, 2.0)  # the entry's step 1 is not on the frame
    assert [t.get_text() for t in total.get_xticklabels()
            if 0 <= t.get_position()[0] <= 2] == ["0", "1", "2"]  # whole steps only
    legend = rewards.axes[0].get_legend()
    # Only what is drawn: the mean (a marker) and the sample, no empty band or curve.
    assert [t.get_text() for t in legend.get_texts()] == [
        "per-file mean (all entries)", "reservoir samples"]
