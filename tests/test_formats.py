"""formats: the four entry generations → canonical columns, on both decoders."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pokeviz.formats import (
    COMPONENTS,
    CORE_COLUMNS,
    FLOAT_COLUMNS,
    FORMATS,
    INT_COLUMNS,
    MAX_EXACT_INT,
    STAT_COLUMNS,
    canonical_entry,
    entry_format,
    number,
)
from pokeviz.formats_structs import (
    FLAT_STANDARD_DECODER,
    NESTED_DECODER,
    NESTED_DECODER_ANY_COMPONENTS,
    flat_columns,
    flat_decoder,
    nested_columns,
)

from .conftest import nested_entry

LEGACY = {"step": 812, "x": 5, "y": 6, "map": 0, "max_map_progress": 1, "last_action": 3,
          "pcount": 1, "levels": [6, 0, 0, 0, 0, 0], "levels_sum": 6,
          "ptypes": [20, 255, 255, 255, 255, 255], "hp": 0.93, "coord_count": 41,
          "deaths": 0, "badge": 0, "event": 0.0, "healr": 0.0}


def flat_entry() -> dict:
    comps = {"event": 4.0, "level": 3.0, "heal": 0.0, "badge": 0.0, "explore": 2.6,
             "dead": 0.0, "stuck": -0.2}
    return LEGACY | {"reward_total": 9.4, "reward_step": 0.1, "reward_components": comps} | {
        f"reward_{k}": v for k, v in comps.items()
    }


def test_column_lists_are_consistent() -> None:
    assert FORMATS == ("flat_legacy", "flat", "nested", "nested_total")
    assert CORE_COLUMNS == INT_COLUMNS + FLOAT_COLUMNS
    assert len(set(CORE_COLUMNS)) == len(CORE_COLUMNS)
    assert set(STAT_COLUMNS) <= set(CORE_COLUMNS)
    assert [f"reward_{c}" for c in COMPONENTS] == [c for c in FLOAT_COLUMNS if c[7:] in COMPONENTS]


@pytest.mark.parametrize(
    ("entry", "fmt"),
    [(LEGACY, "flat_legacy"), (flat_entry(), "flat"), (nested_entry(1), "nested"),
     (nested_entry(1, total_steps=64), "nested_total")],
)
def test_entry_format(entry: dict, fmt: str) -> None:
    assert entry_format(entry) == fmt


def test_legacy_entry_maps_event_and_heal_only() -> None:
    row, bad = canonical_entry(LEGACY | {"event": 2.0, "healr": 0.5})
    assert bad == 0
    assert row["reward_event"] == 2.0 and row["reward_heal"] == 0.5
    assert "reward_total" not in row and "reward_level" not in row  # missing, not 0
    assert (row["map"], row["x"], row["y"], row["badges"], row["health"]) == (0, 5, 6, 0, 0.93)


def test_nested_entry_maps_every_group() -> None:
    row, bad = canonical_entry(nested_entry(7, total_steps=99, map_id=3, x=4, y=5, total=2.5))
    assert bad == 0
    assert row == {
        "episode_step": 7, "total_steps": 99, "x": 4, "y": 5, "map": 3, "health": 0.9,
        "levels_sum": 6, "badges": 0, "pokemon_count": 1, "last_action": 3, "deaths": 0,
        "exploration_coords": 41, "map_progress": 1, "reward_total": 2.5, "reward_step": 0.1,
        "reward_event": 0.5, "reward_level": 1.0, "reward_heal": 0.0, "reward_badge": 0.0,
        "reward_explore": 0.25, "reward_dead": 0.0, "reward_stuck": -0.25,
    }


@pytest.mark.parametrize(
    ("value", "column", "expected"),
    [
        (None, "x", (None, False)),
        (3, "x", (3, False)),
        (3.0, "x", (3, False)),
        (2.5, "x", (None, True)),
        (True, "x", (None, True)),
        ("3", "x", (None, True)),
        (MAX_EXACT_INT + 1, "x", (None, True)),
        (10**400, "health", (None, True)),
        (math.inf, "health", (None, True)),
        (7, "health", (7.0, False)),
    ],
)
def test_number_rules(value, column: str, expected) -> None:
    assert number(value, column) == expected


# --- the fast path's structs give the same values as canonical_entry ------------------

value = st.one_of(st.none(), st.integers(-3, 300), st.floats(-1e6, 1e6))


@st.composite
def nested_file(draw: st.DrawFn) -> list[dict]:
    out = []
    for i in range(draw(st.integers(1, 20))):
        entry = nested_entry(i, total_steps=draw(st.sampled_from([None, 640])))
        entry["position"]["x"] = draw(st.one_of(st.none(), st.integers(-3, 300)))
        entry["rewards"]["total"] = draw(value)
        if draw(st.booleans()):
            entry["rewards"]["components"]["op_lvl"] = draw(value)
        if draw(st.booleans()):
            del entry["rewards"]["components"]["heal"]  # falls back to healing_reward
        if draw(st.integers(0, 5)) == 0:
            del entry["actions"]
        out.append(entry)
    return out


def rows_as_columns(entries: list[dict]) -> dict[str, list[float]]:
    rows = [canonical_entry(e)[0] for e in entries]
    names = dict.fromkeys(name for row in rows for name in row)
    return {name: [float(row.get(name, math.nan)) for row in rows] for name in names}


def assert_columns_match(columns: dict[str, np.ndarray], expected: dict[str, list]) -> None:
    for name, values in expected.items():
        np.testing.assert_array_equal(columns[name], np.array(values), err_msg=name)
    for name in set(columns) - set(expected):  # columns the rows never had: all missing
        assert np.isnan(columns[name]).all(), name


@settings(max_examples=80, deadline=None)
@given(nested_file())
def test_nested_structs_agree_with_canonical_entry(entries: list[dict]) -> None:
    data = msgspec.json.encode(entries)
    try:
        decoded = NESTED_DECODER.decode(data)
    except msgspec.ValidationError:
        decoded = NESTED_DECODER_ANY_COMPONENTS.decode(data)
    columns, counts = nested_columns(decoded)
    assert_columns_match(columns, rows_as_columns(entries))
    assert counts["nested_total"] + counts["nested"] == len(entries)
    assert counts["nested_total"] == sum(entry_format(e) == "nested_total" for e in entries)


def test_flat_structs_agree_with_canonical_entry() -> None:
    entries = [LEGACY, flat_entry(), flat_entry() | {"reward_novelty": 0.25}]
    data = msgspec.json.encode(entries[:2])
    columns, counts = flat_columns(FLAT_STANDARD_DECODER.decode(data))
    assert_columns_match(columns, rows_as_columns(entries[:2]))
    assert counts == {"flat": 1, "flat_legacy": 1}
    with pytest.raises(msgspec.ValidationError):  # an unknown key: the strict decoder refuses
        FLAT_STANDARD_DECODER.decode(msgspec.json.encode(entries))
    decoded = flat_decoder(("reward_novelty",)).decode(msgspec.json.encode(entries))
    columns, _ = flat_columns(decoded)
    assert_columns_match(columns, rows_as_columns(entries))


def test_nested_columns_refuse_a_mixed_file() -> None:
    decoded = NESTED_DECODER.decode(msgspec.json.encode([nested_entry(0), {"step": 1}]))
    assert nested_columns(decoded) is None  # the caller streams such a file
