"""pokeviz animate: frames per log file, exact tiles and rewards, decoded videos, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import pokeviz
from pokeviz.animate import animate_run, frame_groups
from pokeviz.animate_frames import BACKGROUND_TILE_PX, FRAME_WIDTH_IN
from pokeviz.cli import main
from pokeviz.kanto import load_map_table
from pokeviz.synth import synth_run, write_map_table

from .conftest import deep_root, nested_entry

FILES = 6


pytestmark = pytest.mark.usefixtures("no_map_table_from_the_environment")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = deep_root(tmp_path_factory.mktemp("animate"))
    synth_run(root, variant="v4", timestamp="20260101_000000", files=FILES, envs=2,
              steps_per_env=48, seed=5)
    write_map_table(root / "map_data.json")
    return root


@pytest.fixture(scope="module")
def run(root: Path) -> Path:
    return root / "v4" / "20260101_000000"


def invoke(*args: object) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def decode(path: Path) -> tuple[tuple[int, int], list[bytes]]:
    """Every frame of a video, decoded by the bundled ffmpeg to RGB bytes."""
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    return tuple(meta["size"]), [bytes(frame) for frame in reader]


def gif_frames(path: Path) -> list[bytes]:
    with Image.open(path) as image:
        frames = []
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(image.convert("RGB").tobytes())
        return frames


# ---------------------------------------------------------------------------
# Frame windows


def test_one_frame_per_file_by_default() -> None:
    assert frame_groups([10, 20, 30]) == [range(0, 1), range(1, 2), range(2, 3)]
    assert frame_groups([10, 20, 30], frames=7) == [range(0, 1), range(1, 2), range(2, 3)]


def test_frames_are_spread_evenly_over_global_steps() -> None:
    # Ten files of 10 steps, then one of 100: the last frame's window is the long file.
    last = [10 * (i + 1) for i in range(10)] + [200]
    groups = frame_groups(last, frames=2)
    assert groups == [range(0, 10), range(10, 11)]
    # Equal files: equal windows.
    assert frame_groups(list(range(1, 13)), frames=4) == [
        range(0, 3), range(3, 6), range(6, 9), range(9, 12)]


@given(st.lists(st.integers(1, 1000), min_size=1, max_size=60), st.integers(1, 80))
def test_frame_groups_cover_every_file_once_in_order(sizes: list[int], frames: int) -> None:
    last = np.cumsum(sizes).tolist()
    groups = frame_groups(last, frames=frames)
    assert len(groups) == min(frames, len(last))
    assert [i for g in groups for i in g] == list(range(len(last)))
    assert all(len(g) > 0 for g in groups)


def test_frame_groups_reject_zero_frames() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        frame_groups([1, 2], frames=0)


# ---------------------------------------------------------------------------
# Videos


def test_mp4_has_one_frame_per_log_file_at_the_configured_size(run: Path, root: Path,
                                                               tmp_path: Path) -> None:
    out = invoke("animate", run, "--map-data", root / "map_data.json", "--dpi", 50,
                 "--output-dir", tmp_path)
    path = tmp_path / "v4_20260101_000000_exploration.mp4"
    assert f"wrote    {path}" in out
    size, frames = decode(path)
    assert len(frames) == FILES
    assert size[0] == FRAME_WIDTH_IN * 50 and size[0] % 2 == 0 and size[1] % 2 == 0
    # Same logs and options: same decoded frames, and the same bytes.
    first = path.read_bytes()
    invoke("animate", run, "--map-data", root / "map_data.json", "--dpi", 50,
           "--output-dir", tmp_path)
    assert decode(path)[1] == frames
    assert path.read_bytes() == first


def test_gif_frames_with_pillow_and_frames_option(run: Path, root: Path,
                                                  tmp_path: Path) -> None:
    invoke("animate", run, "--map-data", root / "map_data.json", "--format", "gif",
           "--frames", 3, "--fps", 5, "--dpi", 40, "--output-dir", tmp_path)
    path = tmp_path / "v4_20260101_000000_exploration.gif"
    frames = gif_frames(path)
    assert len(frames) == 3
    with Image.open(path) as image:
        assert image.size[0] == FRAME_WIDTH_IN * 40
        assert image.info["duration"] == 200
    invoke("animate", run, "--map-data", root / "map_data.json", "--format", "gif",
           "--frames", 3, "--fps", 5, "--dpi", 40, "--output-dir", tmp_path)
    assert gif_frames(path) == frames


def test_default_output_is_the_runs_plots_folder(root: Path, tmp_path: Path) -> None:
    synth_run(root, variant="v2", timestamp="20260103_000000", files=2, envs=1,
              steps_per_env=8, seed=1)
    run = root / "v2" / "20260103_000000"
    out = invoke("animate", "--variant", "v2", "--experiments-dir", root, "--format", "gif",
                 "--dpi", 30)
    path = run / "plots" / "v2_20260103_000000_exploration.gif"
    assert path.is_file() and str(path) in out
    assert len(gif_frames(path)) == 2


# ---------------------------------------------------------------------------
# What the frames say: exact numbers


def test_tiles_and_window_rewards_are_exact(run: Path, root: Path, tmp_path: Path) -> None:
    table = load_map_table(root / "map_data.json")
    result = animate_run(run, map_data=root / "map_data.json", fmt="gif", frames=2, dpi=30,
                         output_dir=tmp_path)
    assert result.frames == 2 and len(result.windows) == 2
    # Unique tiles: global tiles of placed maps plus (map, x, y) of the others, from SQL.
    _, rows = pokeviz.sql(run, "SELECT map, x, y FROM positions", update=False)
    maps, xs, ys = (np.array([r[i] for r in rows]) for i in range(3))
    gx, gy, placed = table.to_global(maps, xs, ys)
    expected = len({(a, b) for a, b in zip(gx[placed], gy[placed], strict=True)}) + int(
        (~placed).sum())
    assert result.tiles == expected
    # The window's reward: the entry-weighted mean of the per-file means of its files.
    _, stats = pokeviz.sql(run, "SELECT file, n, mean FROM file_stats "
                           "WHERE metric = 'reward_total'", update=False)
    by_file = {f: (n, m) for f, n, m in stats}
    for window in result.windows:
        n = sum(by_file[f][0] for f in window.files)
        mean = sum(by_file[f][0] * by_file[f][1] for f in window.files) / n
        assert window.mean_reward == pytest.approx(mean, rel=1e-12)
    _, files = pokeviz.sql(run, "SELECT file, last_global_step FROM files ORDER BY file_order",
                           update=False)
    assert [f for w in result.windows for f in w.files] == [f for f, _ in files]
    assert result.windows[-1].last_global_step == files[-1][1]


def test_file_positions_are_each_files_exact_tiles_read_file_by_file(
        run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pokeviz.packs
    import pokeviz.sidecars

    def whole_table(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("file_positions read a whole positions table")

    with pokeviz.open_run(run) as view:
        files = [f for (f,) in view.con.execute(
            "SELECT file FROM files ORDER BY file_order").fetchall()]
        entries = dict(view.con.execute("SELECT file, entries FROM files").fetchall())
        expected = view.con.execute("SELECT map, x, y, visits FROM positions").fetchall()
        monkeypatch.setattr(pokeviz.packs, "load_tables", whole_table)
        monkeypatch.setattr(pokeviz.sidecars, "read_parquet", whole_table)
        got = list(view.file_positions(reversed(files)))
    assert [name for name, _ in got] == files[::-1]
    summed: dict[tuple[int, int, int], int] = {}
    for name, rows in got:
        assert all(rows[c].dtype == np.int64 for c in ("map", "x", "y", "visits"))
        # One visit per entry, and each tile once per file, ordered by (map, y, x).
        assert int(rows["visits"].sum()) == entries[name]
        keys = list(zip(rows["map"].tolist(), rows["y"].tolist(), rows["x"].tolist(),
                        strict=True))
        assert keys == sorted(set(keys))
        for m, x, y, v in zip(*(rows[c].tolist() for c in ("map", "x", "y", "visits")),
                              strict=True):
            summed[(m, x, y)] = summed.get((m, x, y), 0) + v
    assert sorted((*k, v) for k, v in summed.items()) == sorted(expected)


def test_file_positions_follow_a_file_read_again_and_name_the_uncached(
        make_run, tmp_path: Path) -> None:
    run = make_run({"stats_1.json": [nested_entry(i, x=i % 2, y=1) for i in range(4)],
                    "stats_2.json": [nested_entry(i, x=5, y=5) for i in range(3)]})
    with pokeviz.open_run(run) as view:
        first = dict(view.file_positions(["stats_1.json", "stats_2.json"]))
    assert first["stats_1.json"]["visits"].tolist() == [2, 2]
    assert first["stats_2.json"]["x"].tolist() == [5]
    (run / "json_logs" / "stats_1.json").write_text(json.dumps(
        [nested_entry(i, x=7, y=i % 3) for i in range(6)]))
    with pokeviz.open_run(run) as view:
        again = dict(view.file_positions(["stats_1.json", "stats_2.json"]))
        assert again["stats_1.json"]["y"].tolist() == [0, 1, 2]
        assert again["stats_1.json"]["visits"].tolist() == [2, 2, 2]
        assert again["stats_2.json"]["visits"].tolist() == [3]
        with pytest.raises(pokeviz.errors.CacheError, match="stats_9.json is not in the cache"):
            list(view.file_positions(["stats_9.json"]))


def test_without_a_map_table_maps_get_panels_and_tiles_are_triples(run: Path,
                                                                   tmp_path: Path) -> None:
    result = animate_run(run, fmt="gif", dpi=30, output_dir=tmp_path)
    _, rows = pokeviz.sql(run, "SELECT count(*) FROM positions", update=False)
    assert result.tiles == rows[0][0]
    assert result.frames == FILES


def test_background_picture_shows_under_the_visits(run: Path, root: Path,
                                                   tmp_path: Path) -> None:
    table = load_map_table(root / "map_data.json")
    width, height = table.region_size
    picture = tmp_path / "kanto.png"
    Image.new("RGB", (width * BACKGROUND_TILE_PX, height * BACKGROUND_TILE_PX),
              (0, 160, 0)).save(picture)
    plain = animate_run(run, map_data=root / "map_data.json", fmt="gif", frames=1, dpi=30,
                        output_dir=tmp_path / "plain")
    drawn = animate_run(run, map_data=root / "map_data.json", fmt="gif", frames=1, dpi=30,
                        background=picture, output_dir=tmp_path / "background")
    pixels = np.frombuffer(gif_frames(drawn.path)[0], dtype=np.uint8).reshape(-1, 3)
    plain_pixels = np.frombuffer(gif_frames(plain.path)[0], dtype=np.uint8).reshape(-1, 3)
    # The washed-out green of the picture (0 → 89, 160 → 193, 0 → 89) fills empty tiles.
    green = np.all(np.abs(pixels.astype(int) - (89, 193, 89)) <= 6, axis=1)
    assert green.mean() > 0.05
    assert not np.all(np.abs(plain_pixels.astype(int) - (89, 193, 89)) <= 6, axis=1).any()


def test_a_bad_background_or_format_is_one_error_line(run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    table = tmp_path / "map_data.json"
    write_map_table(table)
    result = CliRunner().invoke(main, ["animate", str(run), "--map-data", str(table),
                                       "--background", str(bad), "--output-dir",
                                       str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}: cannot read the background picture")
    assert len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["animate", str(run), "--format", "avi"])
    assert result.exit_code == 2


def test_a_run_without_entries_says_so(make_run, tmp_path: Path) -> None:
    run = make_run({"stats_1.json": "[]"})
    result = CliRunner().invoke(main, ["animate", str(run), "--output-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no log file has a complete entry yet" in result.output


def test_a_file_without_entries_gets_no_frame(make_run, tmp_path: Path) -> None:
    entries = [nested_entry(i, x=i % 3, y=1) for i in range(5)]
    run = make_run({"stats_1.json": entries, "stats_2.json": "[]",
                    "stats_3.json": json.dumps(entries)})
    result = animate_run(run, fmt="gif", dpi=30, output_dir=tmp_path)
    assert result.frames == 2
    assert "1 log file without entries: no frame" in result.notes
