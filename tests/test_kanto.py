"""Map table: loading, global coordinates, errors that name the file, the search order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pokeviz.errors import MapTableError
from pokeviz.kanto import (
    ENV_VAR,
    KANTO_SIZE,
    find_map_table,
    load_map_table,
    parse_map_table,
)

#: A small made-up table in the community layout (not the real coordinates).
TABLE = {
    "regions": [
        {"id": "-1", "name": "Kanto", "coordinates": [0, 0], "tileSize": [60, 50]},
        {"id": "0", "name": "Town", "coordinates": [10, 20], "tileSize": [8, 6]},
        {"id": "12", "name": "Road", "coordinates": [30, 5], "tileSize": [5, 15]},
    ]
}


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_load_the_community_layout(tmp_path: Path) -> None:
    table = load_map_table(write(tmp_path / "map_data.json", TABLE))
    assert table.path == tmp_path / "map_data.json"
    assert table.region_size == (60, 50)
    assert sorted(table.maps) == [0, 12]
    town = table.maps[0]
    assert (town.name, town.gx0, town.gy0, town.width, town.height) == ("Town", 10, 20, 8, 6)
    assert 12 in table and -1 not in table and 5 not in table


def test_a_bare_list_int_ids_and_no_region_row(tmp_path: Path) -> None:
    rows = [{"id": 7, "coordinates": [1, 2], "tileSize": [3, 4]}]
    table = load_map_table(write(tmp_path / "t.json", rows))
    assert table.region_size == KANTO_SIZE == (436, 444)
    assert table.maps[7].name == "map 7"


def test_global_coordinates_are_local_plus_the_map_origin() -> None:
    table = parse_map_table(TABLE)
    gx, gy, placed = table.to_global(
        np.array([0, 12, 99, 0]), np.array([1, 4, 7, 0]), np.array([2, 0, 8, 0])
    )
    assert placed.tolist() == [True, True, False, True]
    assert gx.tolist() == [11, 34, 0, 10]
    assert gy.tolist() == [22, 5, 0, 20]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"maps": []}, 'expected {"regions": [...]} or a list of maps'),
        ([{"id": "x", "coordinates": [0, 0], "tileSize": [1, 1]}],
         "entry 0: 'id' must be an integer or a numeric string, got 'x'"),
        ([{"id": "3", "tileSize": [1, 1]}], "map id 3: no 'coordinates' field"),
        ([{"id": "3", "coordinates": [0], "tileSize": [1, 1]}],
         "map id 3: 'coordinates' must be two integers, got [0]"),
        ([{"id": "3", "coordinates": [0, 0], "tileSize": [1, -2]}],
         "map id 3: 'tileSize' must not be negative"),
        ([{"id": "3", "coordinates": [0, 0], "tileSize": [1, 1]},
          {"id": 3, "coordinates": [0, 0], "tileSize": [1, 1]}], "map id 3: the id appears twice"),
    ],
)
def test_a_bad_table_is_one_clear_error_naming_the_file(
    tmp_path: Path, content: object, message: str
) -> None:
    path = write(tmp_path / "map_data.json", content)
    with pytest.raises(MapTableError) as caught:
        load_map_table(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_table_says_how_to_pass_one(tmp_path: Path) -> None:
    with pytest.raises(MapTableError, match="no such map table; pass --map-data PATH"):
        load_map_table(tmp_path / "nope.json")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``<tmp>/a/b/repo/experiments/v4/<ts>``: the search stays inside ``<tmp>/a``."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    run = tmp_path / "a" / "b" / "repo" / "experiments" / "v4" / "20260101_000000"
    run.mkdir(parents=True)
    return run


def test_search_walks_up_in_the_documented_order(tree: Path) -> None:
    repo = tree.parents[2]
    assert find_map_table(tree) is None
    # Lowest priority first; each new file must win over the previous one.
    candidates = [
        repo.parent / "PokemonRedExperiments" / "v2" / "map_data.json",  # one above repo
        repo / "PokemonRedExperiments" / "v2" / "map_data.json",
        repo / "v2" / "map_data.json",
        repo / "data" / "map_data.json",
        repo / "map_data.json",
        tree.parents[1] / "map_data.json",  # experiments/
        tree / "map_data.json",
    ]
    for path in candidates:
        write(path, TABLE)
        assert find_map_table(tree) == path


def test_tables_in_unrelated_sibling_folders_are_not_taken(tree: Path) -> None:
    repo = tree.parents[2]
    for sibling in (repo / "a" / "data", repo / "src" / "pkg" / "data", repo.parent / "zz",
                    tree.parent / "20250101_000000"):
        write(sibling / "map_data.json", TABLE)
    assert find_map_table(tree) is None


def test_search_stops_four_folders_above_the_run(tree: Path) -> None:
    write(tree.parents[4] / "map_data.json", TABLE)  # <tmp>/a: 5 levels up
    assert find_map_table(tree) is None
    write(tree.parents[3] / "map_data.json", TABLE)  # <tmp>/a/b: 4 levels up
    assert find_map_table(tree) == tree.parents[3] / "map_data.json"


def test_explicit_path_beats_the_environment_which_beats_the_search(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    near = write(tree / "map_data.json", TABLE)
    from_env = write(tree.parent / "env.json", TABLE)
    explicit = write(tree.parent / "explicit.json", TABLE)
    assert find_map_table(tree) == near
    monkeypatch.setenv(ENV_VAR, str(from_env))
    assert find_map_table(tree) == from_env
    assert find_map_table(tree, explicit) == explicit
    assert find_map_table(tree, environ={ENV_VAR: ""}) == near


def test_a_named_table_that_does_not_exist_is_an_error(tree: Path) -> None:
    missing = tree / "missing.json"
    with pytest.raises(MapTableError, match=r"missing.json: no such map table file \(from "
                       "--map-data\\)"):
        find_map_table(tree, missing)
    with pytest.raises(MapTableError, match="from the POKEVIZ_MAP_DATA environment variable"):
        find_map_table(tree, environ={ENV_VAR: str(missing)})


SHARED_TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "map_data.json"


@pytest.mark.skipif(not SHARED_TABLE.is_file(), reason="no ../shared/data/map_data.json")
def test_the_real_community_table_loads() -> None:
    """Optional: the only test that reads the real table (it is never copied here)."""
    table = load_map_table(SHARED_TABLE)
    assert table.region_size == (436, 444)
    assert len(table.maps) > 200
    for region in table.maps.values():
        assert region.gx0 >= 0 and region.gx0 + region.width <= 436
        assert region.gy0 >= 0 and region.gy0 + region.height <= 444


def test_a_broken_table_found_by_the_search_is_skipped_with_a_note(tmp_path: Path) -> None:
    from pokeviz.kanto import resolve_map_table

    run = tmp_path / "repo" / "experiments" / "v4" / "20260101_000000"
    run.mkdir(parents=True)
    (tmp_path / "repo" / "experiments" / "map_data.json").write_text("{not json")
    good = tmp_path / "repo" / "v2" / "map_data.json"
    good.parent.mkdir()
    good.write_text(json.dumps([{"id": "0", "name": "Town", "coordinates": [3, 4],
                                 "tileSize": [5, 6]}]))
    table, notes = resolve_map_table(run, environ={})
    assert table is not None and table.path == good
    assert len(notes) == 1 and "experiments/map_data.json" in notes[0]
    with pytest.raises(MapTableError, match="not valid JSON"):
        resolve_map_table(run, tmp_path / "repo" / "experiments" / "map_data.json", environ={})
