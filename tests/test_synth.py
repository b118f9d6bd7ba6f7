"""Tests of the synthetic run generator: exact json.dump layout, invariants, determinism."""

from __future__ import annotations

import hashlib
import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from pokeviz.formats import entry_format
from pokeviz.kanto import load_map_table
from pokeviz.synth import (
    FORMATS,
    SynthRun,
    synth_experiments,
    synth_run,
    synthetic_map_table,
    write_map_table,
)

COMPONENTS = ["event", "level", "heal", "badge", "explore", "dead", "stuck"]
LEGACY_KEYS = [
    "step",
    "x",
    "y",
    "map",
    "max_map_progress",
    "last_action",
    "pcount",
    "levels",
    "levels_sum",
    "ptypes",
    "hp",
    "coord_count",
    "deaths",
    "badge",
    "event",
    "healr",
]
FLAT_KEYS = LEGACY_KEYS + [
    "reward_total",
    "reward_step",
    "reward_components",
    *(f"reward_{c}" for c in COMPONENTS),
]
NESTED_KEYS = ["step", "position", "rewards", "player_status", "actions", "statistics"]
NESTED_SUBKEYS = {
    "position": ["x", "y", "map"],
    "rewards": ["total", "step", "components"],
    "player_status": ["health", "levels", "levels_sum", "badges", "pokemon_count", "pokemon_types"],
    "actions": ["last_action"],
    "statistics": [
        "deaths",
        "exploration_coords",
        "map_progress",
        "healing_reward",
        "event_progress",
    ],
}
ENVS = 4
STEPS = 256
FILES = 8


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[SynthRun, list[list]]]:
    """One default-sized run per format, with its decoded files."""
    root = tmp_path_factory.mktemp("experiments")
    out = {}
    for fmt in FORMATS:
        run = synth_run(root / fmt, fmt=fmt, files=FILES, envs=ENVS, steps_per_env=STEPS)
        out[fmt] = (run, [json.loads(p.read_text()) for p in run.files])
    return out


def canonical(entry: dict) -> dict:
    """The fields the tests check, whatever the format."""
    if "position" in entry:
        rewards, status = entry["rewards"], entry["player_status"]
        return {
            "step": entry["step"],
            **entry["position"],
            "total": rewards["total"],
            "reward_step": rewards["step"],
            "components": rewards["components"],
            "health": status["health"],
            "levels": status["levels"],
            "levels_sum": status["levels_sum"],
            "badges": status["badges"],
            "pokemon_count": status["pokemon_count"],
            "types": status["pokemon_types"],
            "action": entry["actions"]["last_action"],
            "deaths": entry["statistics"]["deaths"],
            "coords": entry["statistics"]["exploration_coords"],
            "progress": entry["statistics"]["map_progress"],
        }
    row = {
        "step": entry["step"],
        "x": entry["x"],
        "y": entry["y"],
        "map": entry["map"],
        "total": entry.get("reward_total"),
        "reward_step": entry.get("reward_step"),
        "components": entry.get("reward_components")
        or {"event": entry["event"], "heal": entry["healr"]},
        "health": entry["hp"],
        "levels": entry["levels"],
        "levels_sum": entry["levels_sum"],
        "badges": entry["badge"],
        "pokemon_count": entry["pcount"],
        "types": entry["ptypes"],
        "action": entry["last_action"],
        "deaths": entry["deaths"],
        "coords": entry["coord_count"],
        "progress": entry["max_map_progress"],
    }
    return row


def env_streams(files: list[list], envs: int = ENVS) -> list[list[dict]]:
    """Each env's entries across all files, in order (env-major blocks per file)."""
    streams: list[list[dict]] = [[] for _ in range(envs)]
    for data in files:
        block = len(data) // envs
        for e in range(envs):
            streams[e].extend(canonical(x) for x in data[e * block : (e + 1) * block])
    return streams


def episodes(stream: list[dict]) -> list[list[dict]]:
    out: list[list[dict]] = []
    for row in stream:
        if not out or row["step"] == 0:
            out.append([])
        out[-1].append(row)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_have_json_dump_layout_and_counts(runs, fmt):
    run, files = runs[fmt]
    assert len(run.files) == FILES
    assert [len(d) for d in files] == list(run.entries_per_file)
    assert run.total_entries == sum(run.entries_per_file) == run.last_total_steps
    assert run.positions == run.total_entries
    for path, data in zip(run.files, files, strict=True):
        text = path.read_text()
        expected = json.dumps(data, indent=2) if fmt.startswith("nested") else json.dumps(data)
        assert text == expected, path.name


@pytest.mark.parametrize("fmt", FORMATS)
def test_keys_and_order_match_the_format_doc(runs, fmt):
    _, files = runs[fmt]
    for data in files:
        for entry in data:
            assert entry_format(entry) == fmt
            if fmt == "flat_legacy":
                assert list(entry) == LEGACY_KEYS
            elif fmt == "flat":
                assert list(entry) == FLAT_KEYS
                assert list(entry["reward_components"]) == COMPONENTS
                for c in COMPONENTS:
                    assert entry[f"reward_{c}"] == entry["reward_components"][c]
                assert entry["event"] == entry["reward_event"]
                assert entry["healr"] == entry["reward_heal"]
            else:
                keys = list(NESTED_KEYS)
                if fmt == "nested_total":
                    keys.insert(1, "total_steps")
                assert list(entry) == keys
                for group, subkeys in NESTED_SUBKEYS.items():
                    assert list(entry[group]) == subkeys
                assert list(entry["rewards"]["components"]) == COMPONENTS
                stats, comps = entry["statistics"], entry["rewards"]["components"]
                assert stats["healing_reward"] == comps["heal"]
                assert stats["event_progress"] == comps["event"]


def test_total_steps_constant_per_file_and_cumulative(runs):
    run, files = runs["nested_total"]
    cumulative = 0
    for data in files:
        cumulative += len(data)
        assert {e["total_steps"] for e in data} == {cumulative}
    assert cumulative == run.last_total_steps == run.total_entries


@pytest.mark.parametrize("fmt", FORMATS)
def test_episode_steps_continue_across_files_and_reset(runs, fmt):
    _, files = runs[fmt]
    resets_inside_files = 0
    for stream in env_streams(files):
        assert stream[0]["step"] == 0
        for prev, row in pairwise(stream):
            assert row["step"] in (prev["step"] + 1, 0)
        for data in files:
            block = len(data) // ENVS
            for e in range(ENVS):
                steps = [x["step"] for x in data[e * block : (e + 1) * block]]
                resets_inside_files += sum(s == 0 for s in steps[1:])
    assert resets_inside_files >= 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_reward_components_are_cumulative_per_episode(runs, fmt):
    _, files = runs[fmt]
    for stream in env_streams(files):
        for episode in episodes(stream):
            previous_total = 0.0
            prev = None
            for row in episode:
                comps = row["components"]
                if "dead" in comps:
                    assert comps["dead"] <= 0 and comps["stuck"] <= 0
                    assert row["total"] == pytest.approx(sum(comps.values()), abs=1e-9)
                    assert row["reward_step"] == pytest.approx(
                        row["total"] - previous_total, abs=1e-9
                    )
                    previous_total = row["total"]
                if prev is not None:
                    for name, value in comps.items():
                        if name in ("dead", "stuck"):
                            assert value <= prev["components"][name]
                        else:
                            assert value >= prev["components"][name]
                prev = row


@pytest.mark.parametrize("fmt", FORMATS)
def test_player_fields_are_plausible(runs, fmt):
    _, files = runs[fmt]
    for data in files:
        for entry in map(canonical, data):
            assert len(entry["levels"]) == len(entry["types"]) == 6
            assert entry["levels_sum"] == sum(entry["levels"])
            assert entry["pokemon_count"] == sum(t != 255 for t in entry["types"]) >= 1
            assert 0 <= entry["badges"] <= 8
            assert 0.0 <= entry["health"] <= 1.0
            assert 0 <= entry["action"] <= 6
            assert entry["coords"] >= 1 and entry["deaths"] >= 0
            assert 0 <= entry["progress"] <= 8


def test_positions_lie_inside_their_maps(runs):
    sizes = {int(m["id"]): m["tileSize"] for m in synthetic_map_table()}
    used = set()
    for _, files in runs.values():
        for data in files:
            for entry in map(canonical, data):
                width, height = sizes[entry["map"]]  # KeyError = a map not in the table
                assert 0 <= entry["x"] < width and 0 <= entry["y"] < height
                used.add(entry["map"])
    assert len(used) >= 5  # the agents really travel


def test_map_table_layout():
    table = synthetic_map_table()
    assert table[0] == {"id": "-1", "name": "Kanto", "coordinates": [0, 0], "tileSize": [436, 444]}
    ids = [m["id"] for m in table]
    assert len(ids) == len(set(ids))
    assert {"0", "12", "1", "13", "51", "2", "54", "40", "37", "38", "41"} <= set(ids)
    occupied: set[tuple[int, int]] = set()
    for m in table[1:]:
        (gx0, gy0), (w, h) = m["coordinates"], m["tileSize"]
        assert gx0 >= 0 and gy0 >= 0 and gx0 + w <= 436 and gy0 + h <= 444
        tiles = {(gx0 + x, gy0 + y) for x in range(w) for y in range(h)}
        assert not tiles & occupied, m["name"]
        occupied |= tiles


def test_write_map_table_is_the_community_layout(tmp_path):
    path = write_map_table(tmp_path / "sub" / "map_data.json")
    assert path == tmp_path / "sub" / "map_data.json"
    assert json.loads(path.read_text()) == {"regions": synthetic_map_table()}
    assert [p.name for p in path.parent.iterdir()] == ["map_data.json"]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    kwargs = {"files": 3, "envs": 2, "steps_per_env": 64, "fmt": "flat"}
    a = synth_run(tmp_path / "a", seed=7, **kwargs)
    b = synth_run(tmp_path / "b", seed=7, **kwargs)
    c = synth_run(tmp_path / "c", seed=8, **kwargs)
    d = synth_run(tmp_path / "d", seed=7, variant="v1", **kwargs)
    assert [p.name for p in a.files] == [p.name for p in b.files]
    assert [p.read_bytes() for p in a.files] == [p.read_bytes() for p in b.files]
    assert [p.read_bytes() for p in a.files] != [p.read_bytes() for p in c.files]
    assert [p.read_bytes() for p in a.files] != [p.read_bytes() for p in d.files]


def test_file_names_order_and_final_remainder(tmp_path):
    run = synth_run(tmp_path, files=5, envs=3, steps_per_env=9, fmt="flat_legacy")
    assert run.run_dir == tmp_path / "v4" / "20260101_000000"
    assert (run.run_dir / "checkpoints").is_dir() and (run.run_dir / "tensorboard").is_dir()
    names = [p.name for p in run.files]
    assert all(re.fullmatch(r"stats_\d+\.json", n) for n in names[:-1])
    assert re.fullmatch(r"stats_final_\d+\.json", names[-1])
    seconds = [int(re.search(r"\d+", n).group()) for n in names]
    assert seconds[0] == 1767225600
    assert all(60 <= b - a < 120 for a, b in pairwise(seconds))
    assert run.entries_per_file == (27, 27, 27, 27, 12)
    assert sorted(p.name for p in (run.run_dir / "json_logs").iterdir()) == sorted(names)

    plain = synth_run(tmp_path / "plain", files=2, envs=1, steps_per_env=3, final=False)
    assert plain.entries_per_file == (3, 3)
    assert not any("final" in p.name for p in plain.files)
    single = synth_run(tmp_path / "single", files=1, envs=2, steps_per_env=1)
    assert single.entries_per_file == (2,) and "final" not in single.files[0].name
    tiny = synth_run(tmp_path / "tiny", files=2, envs=2, steps_per_env=1)
    assert tiny.entries_per_file == (2, 2) and "final" in tiny.files[-1].name


def test_agents_learn_and_skill_separates_variants(tmp_path):
    def progress(run: SynthRun, index: int) -> float:
        data = json.loads(run.files[index].read_text())
        return sum(e["max_map_progress"] for e in data) / len(data)

    kwargs = {"files": 6, "envs": 4, "steps_per_env": 512, "fmt": "flat_legacy", "final": False}
    weak = synth_run(tmp_path, variant="v1", **kwargs)
    strong = synth_run(tmp_path, variant="v4", **kwargs)
    assert progress(strong, -1) > progress(strong, 0)
    assert progress(strong, -1) > progress(weak, -1)


def test_synth_experiments_layout(tmp_path):
    runs = synth_experiments(
        tmp_path, variants=("v1", "v2"), runs=2, files=2, envs=1, steps_per_env=8, fmt="flat"
    )
    assert [(r.run_dir.parent.name, r.run_dir.name) for r in runs] == [
        ("v1", "20260101_000000"),
        ("v1", "20260101_010000"),
        ("v2", "20260101_000000"),
        ("v2", "20260101_010000"),
    ]
    assert runs[1].files[0].name == "stats_1767229200.json"
    assert runs[0].files[0].read_bytes() != runs[1].files[0].read_bytes()
    assert json.loads((tmp_path / "map_data.json").read_text()) == {
        "regions": synthetic_map_table()
    }
    no_table = synth_experiments(
        tmp_path / "bare", files=1, envs=1, steps_per_env=2, map_table=False
    )
    assert len(no_table) == 1 and not (tmp_path / "bare" / "map_data.json").exists()


@pytest.mark.parametrize(
    "kwargs", [{"fmt": "yaml"}, {"files": 0}, {"envs": 0}, {"steps_per_env": 0}]
)
def test_bad_arguments_raise(tmp_path, kwargs):
    with pytest.raises(ValueError):
        synth_run(tmp_path, **kwargs)


def test_run_dir_is_a_path(tmp_path):
    run = synth_run(str(tmp_path), files=1, envs=1, steps_per_env=1)
    assert isinstance(run.run_dir, Path) and run.files[0].exists()


# ---------------------------------------------------------------------------
# Pinned bytes of the classic world, and the options that make bench data


#: sha256 (first 16 hex digits) of all files of ``synth_run(fmt=..., files=3, envs=2,
#: steps_per_env=300, seed=1)``: the bytes every demo figure is drawn from.
CLASSIC_DIGESTS = {
    "flat_legacy": "67860079d40a725d",
    "flat": "cd7773e5e54fc56b",
    "nested": "ea106343018f0511",
    "nested_total": "3816510b20e1a5f9",
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_classic_bytes_are_pinned(tmp_path, fmt):
    run = synth_run(tmp_path, fmt=fmt, files=3, envs=2, steps_per_env=300, seed=1)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in run.files)).hexdigest()
    assert digest[:16] == CLASSIC_DIGESTS[fmt]
    same = synth_run(tmp_path / "b", fmt=fmt, files=3, envs=2, steps_per_env=300, seed=1,
                     map_scale=1, explore=0.0)
    assert [p.read_bytes() for p in same.files] == [p.read_bytes() for p in run.files]


def visited(run: SynthRun) -> tuple[set[tuple[int, int, int]], set[int]]:
    """Distinct (map, x, y) tiles and distinct maps of a nested run's files."""
    tiles = set()
    for path in run.files:
        for entry in json.loads(path.read_text()):
            position = entry["position"]
            tiles.add((position["map"], position["x"], position["y"]))
    return tiles, {m for m, _, _ in tiles}


@pytest.mark.parametrize(
    ("options", "tiles", "maps"),
    [
        ({}, 1267, 15),
        ({"map_scale": 2.2}, 1800, 9),
        ({"explore": 0.3}, 1689, 12),
        ({"map_scale": 2.2, "explore": 0.3}, 2409, 10),
        ({"map_scale": 1.5}, 1462, 12),
    ],
)
def test_map_scale_and_explore_spread_the_visits(tmp_path, options, tiles, maps):
    run = synth_run(tmp_path, files=4, envs=4, steps_per_env=512, **options)
    seen, seen_maps = visited(run)
    assert (len(seen), len(seen_maps)) == (tiles, maps)
    assert run.total_entries == 4 * 4 * 512 - 4 * 256  # the final file is half size
    scale = options.get("map_scale", 1)
    sizes = {int(m["id"]): m["tileSize"] for m in synthetic_map_table(scale)}
    for m, x, y in seen:
        assert 0 <= x < sizes[m][0] and 0 <= y < sizes[m][1]
    if scale > 1:  # the scaled agent really uses the room it is given
        classic = {int(m["id"]): m["tileSize"] for m in synthetic_map_table()}
        outside = [t for t in seen if t[1] >= classic[t[0]][0] or t[2] >= classic[t[0]][1]]
        assert len(outside) > len(seen) // 3


@pytest.mark.parametrize("scale", [1.5, 2, 2.2])
def test_scaled_map_table_keeps_the_maps_and_the_region(tmp_path, scale):
    classic, scaled = synthetic_map_table(), synthetic_map_table(scale)
    assert scaled[0] == classic[0]  # the region stays Kanto's 436 x 444, as in users' tables
    occupied: set[tuple[int, int]] = set()
    for a, b in zip(classic[1:], scaled[1:], strict=True):
        assert (a["id"], a["name"]) == (b["id"], b["name"])
        for old, new in zip(a["tileSize"], b["tileSize"], strict=True):
            assert abs(new - old * scale) <= 1
        (gx0, gy0), (w, h) = b["coordinates"], b["tileSize"]
        assert gx0 >= 0 and gy0 >= 0 and gx0 + w <= 436 and gy0 + h <= 444, b["name"]
        tiles = {(gx0 + x, gy0 + y) for x in range(w) for y in range(h)}
        assert not tiles & occupied, b["name"]
        occupied |= tiles
    # Overworld neighbours still touch: Route 1 sits right on top of Pallet Town.
    where = {m["name"]: m for m in scaled}
    pallet, route1 = where["Pallet Town"], where["Route 1"]
    assert route1["coordinates"][1] + route1["tileSize"][1] == pallet["coordinates"][1]
    synth_experiments(tmp_path, files=1, envs=1, steps_per_env=4, map_scale=scale)
    assert json.loads((tmp_path / "map_data.json").read_text()) == {"regions": scaled}
    table = load_map_table(tmp_path / "map_data.json")
    assert table.region_size == (436, 444) and len(table.maps) == 19


@pytest.mark.parametrize("kwargs", [{"map_scale": 0}, {"map_scale": 2.3}, {"map_scale": "2"},
                                    {"map_scale": True}, {"explore": -0.1}, {"explore": 1.5}])
def test_bad_bench_options_raise_before_writing(tmp_path, kwargs):
    with pytest.raises(ValueError):
        synth_run(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())


def test_cli_synth_bench_options(tmp_path):
    from click.testing import CliRunner

    from pokeviz.cli import main

    out = CliRunner().invoke(main, ["synth", str(tmp_path), "--files", "2", "--envs", "2",
                                    "--steps-per-env", "64", "--map-scale", "2.2",
                                    "--explore", "0.5"])
    assert out.exit_code == 0, out.output
    assert "2 files, 192 entries" in out.output
    direct = synth_run(tmp_path / "direct", files=2, envs=2, steps_per_env=64, map_scale=2.2,
                       explore=0.5, start_seconds=1767225600)
    written = sorted((tmp_path / "v4" / "20260101_000000" / "json_logs").iterdir())
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in direct.files]
    regions = json.loads((tmp_path / "map_data.json").read_text())["regions"]
    assert regions == synthetic_map_table(2.2)
    bad = CliRunner().invoke(main, ["synth", str(tmp_path / "x"), "--map-scale", "3"])
    assert bad.exit_code == 2 and "--map-scale" in bad.output
