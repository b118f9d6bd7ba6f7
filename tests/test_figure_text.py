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
    # All panels live in one tickless axes: an image per map inside a frame.
    mosaic, bar = heatmap.axes
    images = mosaic.get_images()
    assert len(images) == 20
    (frames,) = mosaic.collections
    frame_boxes = [path.transformed(mosaic.transData).get_extents()
                   for path in frames.get_paths()]
    assert len(frame_boxes) == 20
    bar_box = bar.get_window_extent(renderer)
    assert not any(bar_box.overlaps(t._pokeviz_extent) for t in texts
                   if t.axes is not bar)  # the colour bar covers no title or label
    for i, (image, frame) in enumerate(zip(images, frame_boxes, strict=True)):
        box = image.get_window_extent(renderer)
        rows, cols = image.get_array().shape[:2]  # RGBA: one colour per tile
        # Square tiles: the image's aspect is its tiles' aspect.
        assert box.height / box.width == pytest.approx(rows / cols, rel=0.02)
        # The image sits in its frame; no crushed strips: no frame is thinner than a
        # third of its length.
        assert frame.x0 - 0.5 <= box.x0 and box.x1 <= frame.x1 + 0.5
        assert frame.y0 - 0.5 <= box.y0 and box.y1 <= frame.y1 + 0.5
        assert min(frame.width, frame.height) >= max(frame.width, frame.height) / 3.01
        # Frames are apart, and no text is drawn over a panel.
        assert not any(frame.overlaps(other) for other in frame_boxes[i + 1:])
        assert not any(frame.overlaps(t._pokeviz_extent) for t in texts)
    # Every panel says which local coordinates it spans.
    spans = [t.get_text() for t in texts if t.get_text().startswith("x ")]
    assert len(spans) == 20
    assert "x 0\u201359 \u00b7 y 0" in spans  # the 60 x 1 strip
    assert "x 0 \u00b7 y 0\u201340" in spans  # the 1 x 45 column (rows 0, 5, ..., 40 visited)


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
