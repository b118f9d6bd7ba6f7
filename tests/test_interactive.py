"""pokeviz plot --format html: self-contained Plotly pages holding the exact numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from pokeviz.cli import main
from pokeviz.kanto import ENV_VAR
from pokeviz.plots import plot_run
from pokeviz.plots.interactive import figure_json, html_page, plotly_js, reward_traces
from pokeviz.plots.rewards import RewardData
from pokeviz.synth import synth_run

from .test_plots import TABLE, deep_root, entry, hand_run  # noqa: F401 (fixture)


@pytest.fixture(autouse=True)
def no_map_table_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = deep_root(tmp_path_factory.mktemp("interactive"))
    synth_run(root, variant="v4", timestamp="20260101_000000", files=5, envs=4,
              steps_per_env=40, seed=7)
    (root / "map_data.json").write_text(json.dumps(TABLE))
    return root / "v4" / "20260101_000000"


def invoke(*args: object) -> Any:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def page_figure(path: Path) -> dict[str, Any]:
    """The data and layout passed to ``Plotly.newPlot`` in a page written by pokeviz."""
    text = path.read_text(encoding="utf-8")
    call = re.search(r'Plotly\.newPlot\("([\w-]+)", ', text)
    assert call is not None
    decoder = json.JSONDecoder()
    data, end = decoder.raw_decode(text, call.end())
    layout, _ = decoder.raw_decode(text, end + 2)
    return {"div_id": call.group(1), "data": data, "layout": layout}


def traces_named(figure: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [t for t in figure["data"] if t.get("name") == name]


def test_html_pages_are_self_contained(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("plot", run, "--format", "html", "--output-dir", out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["v4_20260101_000000_heatmap.html", "v4_20260101_000000_rewards.html"]
    assert f"wrote    {out / names[1]}" in result.output
    bundle = plotly_js()
    for name in names:
        text = (out / name).read_text(encoding="utf-8")
        assert bundle in text  # plotly.js inlined, whole
        assert "plotly.js v" in text[:2000]
        # Nothing is loaded from anywhere: no script, link or image with a source.
        assert not re.search(r"<script[^>]*\bsrc=", text)
        assert "<script src=\"http" not in text and "<link" not in text
    assert page_figure(out / names[0])["div_id"] == "pokeviz-heatmap"
    assert page_figure(out / names[1])["div_id"] == "pokeviz-rewards"


def test_reward_page_holds_the_exact_per_file_means(run: Path, tmp_path: Path) -> None:
    invoke("plot", run, "--format", "html", "--output-dir", tmp_path)
    figure = page_figure(tmp_path / "v4_20260101_000000_rewards.html")
    query = ("SELECT metric, file, mean, n FROM file_stats WHERE metric LIKE 'reward_%' "
             "AND metric <> 'reward_step' ORDER BY metric, file")
    rows = json.loads(invoke("sql", run, query, "--format", "json", "--no-update").output)
    expected: dict[str, dict[str, tuple[float, int]]] = {}
    for row in rows:
        expected.setdefault(row["metric"], {})[row["file"]] = (row["mean"], row["n"])
    means = traces_named(figure, "per-file mean (all entries)")
    assert len(means) == len(expected) == 8  # total and the seven components
    seen = {}
    for trace in means:
        metric = "reward_" + trace["hovertemplate"].rsplit("<extra>", 1)[1][:-len("</extra>")]
        files = [c[0] for c in trace["customdata"]]
        seen[metric] = {f: (m, c[3]) for f, m, c in
                        zip(files, trace["y"], trace["customdata"], strict=True)}
    assert seen == expected  # exact floats, exact entry counts
    # One legend entry per layer, toggling that layer in every panel.
    shown = [t["name"] for t in figure["data"] if t.get("showlegend")]
    assert sorted(shown) == sorted([
        "per-file mean (all entries)", "per-file mean ± 1 std, within min–max (all entries)",
        "reservoir samples", shown[2]])
    assert all(t["legendgroup"] for t in figure["data"])
    (samples,) = traces_named(figure, "reservoir samples")
    count = json.loads(invoke("sql", run, "SELECT count(*) AS n FROM reservoir "
                              "WHERE reward_total IS NOT NULL", "--format", "json",
                              "--no-update").output)[0]["n"]
    assert len(samples["x"]) == count > 0
    assert "global step %{x:,}" in samples["hovertemplate"]


def test_same_bytes_on_a_rerun_and_with_other_formats(run: Path, tmp_path: Path) -> None:
    plot_run(run, formats=("html",), output_dir=tmp_path / "a")
    plot_run(run, formats=("png", "html"), output_dir=tmp_path / "b", jobs=1, update=False)
    for kind in ("rewards", "heatmap"):
        name = f"v4_20260101_000000_{kind}.html"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "v4_20260101_000000_heatmap.html", "v4_20260101_000000_heatmap.png",
        "v4_20260101_000000_rewards.html", "v4_20260101_000000_rewards.png"]


def test_heatmap_hover_names_map_local_and_global_tile(hand_run: Path,  # noqa: F811
                                                       tmp_path: Path) -> None:
    plot_run(hand_run, formats=("html",), output_dir=tmp_path)
    figure = page_figure(tmp_path / "v4_20260101_000000_heatmap.html")
    kanto, panel = figure["data"]
    assert kanto["name"] == "Kanto map" and panel["name"] == "map 99"
    texts = [t for row in kanto["text"] for t in row if t]
    assert sorted(texts) == [
        "Road (map 12), local (4, 0)<br>global (34, 5)<br>1 visits",
        "Road (map 12), local (4, 1)<br>global (34, 6)<br>1 visits",
        "Town (map 0), local (1, 2)<br>global (11, 22)<br>3 visits",
    ]
    # Unvisited tiles have no colour value (drawn as background, no hover).
    zs = [z for row in kanto["z"] for z in row]
    assert sum(z is not None for z in zs) == 3 and zs.count(None) == len(zs) - 3
    assert [t for row in panel["text"] for t in row if t] == [
        "map 99 (not in table)<br>local (7, 8)<br>1 visits"]
    outlines = [(s["x0"], s["y0"]) for s in figure["layout"]["shapes"]]
    assert outlines == [(9.5, 19.5), (29.5, 4.5)]  # maps 0 and 12, from the table


def test_without_a_table_every_map_is_a_panel(hand_run: Path, tmp_path: Path) -> None:  # noqa: F811
    (hand_run.parents[1] / "map_data.json").unlink()
    plot_run(hand_run, formats=("html",), output_dir=tmp_path)
    figure = page_figure(tmp_path / "v4_20260101_000000_heatmap.html")
    assert [t["name"] for t in figure["data"]] == ["map 0", "map 12", "map 99"]
    assert [t["xaxis"] for t in figure["data"]] == ["x", "x2", "x3"]
    assert figure["layout"]["yaxis2"]["scaleanchor"] == "x2"  # real aspect ratio
    texts = [t for row in figure["data"][0]["text"] for t in row if t]
    assert texts == ["map 0<br>local (1, 2)<br>3 visits"]


def test_an_empty_figure_and_safe_json() -> None:
    data = RewardData(file_names=[], file_first_step=np.zeros(0, dtype=np.int64),
                      file_last_step=np.zeros(0, dtype=np.int64), files=0, entries=0,
                      samples=0, first_global_step=None, last_global_step=None,
                      smooth_window=50)
    figure = reward_traces(data, title="v4 · run </script><b>")
    assert figure["data"] == []
    assert "no entries yet" in json.dumps(figure)
    text = figure_json({"a": float("nan"), "b": "</script>"})
    assert text == '{"a":null,"b":"<\\/script>"}'
    page = html_page(figure, div_id="x", title="a <b>").decode()
    assert "<title>a &lt;b&gt;</title>" in page and "</script><b>" not in page
    with pytest.raises(ValueError, match="div_id"):
        html_page(figure, div_id="bad id", title="t")
