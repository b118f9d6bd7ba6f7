"""The four log-entry generations mapped to one set of canonical fields.

Every entry, whatever its generation, becomes a row of canonical columns. A value the
entry does not carry is missing (``None`` here, NULL in Parquet and SQL), never 0.

============================  ==============================  =============================
canonical column              flat_legacy / flat key          nested / nested_total path
============================  ==============================  =============================
episode_step                  step                            step
total_steps                   —                               total_steps (nested_total)
map, x, y                     map, x, y                       position.map / .x / .y
reward_total                  reward_total (flat)             rewards.total
reward_step                   reward_step (flat)              rewards.step
reward_<name>                 reward_components.<name>,       rewards.components.<name>
                              reward_<name>; legacy:
                              event → event, healr → heal
health                        hp                              player_status.health
levels_sum                    levels_sum                      player_status.levels_sum
badges                        badge                           player_status.badges
pokemon_count                 pcount                          player_status.pokemon_count
last_action                   last_action                     actions.last_action
deaths                        deaths                          statistics.deaths
exploration_coords            coord_count                     statistics.exploration_coords
map_progress                  max_map_progress                statistics.map_progress
============================  ==============================  =============================

Two readers share this mapping: :func:`canonical_entry` for one decoded ``dict`` (the
streaming path) and :func:`columns_from_structs` for a whole file decoded by msgspec
(the fast path). Both give the same values for the same entry.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

FORMATS = ("flat_legacy", "flat", "nested", "nested_total")

#: The reward components every generation with rewards knows about, in plotting order.
COMPONENTS = ("event", "level", "heal", "badge", "explore", "dead", "stuck")

#: Integer-valued canonical columns.
INT_COLUMNS = (
    "episode_step",
    "total_steps",
    "map",
    "x",
    "y",
    "badges",
    "levels_sum",
    "deaths",
    "exploration_coords",
    "map_progress",
    "pokemon_count",
    "last_action",
)
#: Float-valued canonical columns always present (extra components are added after them).
FLOAT_COLUMNS = (
    "reward_total",
    "reward_step",
    *(f"reward_{name}" for name in COMPONENTS),
    "health",
)
CORE_COLUMNS = INT_COLUMNS + FLOAT_COLUMNS

#: Columns that get exact per-file statistics (plus every extra ``reward_<name>``).
STAT_COLUMNS = (
    "reward_total",
    "reward_step",
    *(f"reward_{name}" for name in COMPONENTS),
    "health",
    "episode_step",
    "badges",
    "levels_sum",
    "deaths",
    "exploration_coords",
    "map_progress",
)

_FLAT_SCALARS = {
    "step": "episode_step",
    "map": "map",
    "x": "x",
    "y": "y",
    "badge": "badges",
    "levels_sum": "levels_sum",
    "deaths": "deaths",
    "coord_count": "exploration_coords",
    "max_map_progress": "map_progress",
    "pcount": "pokemon_count",
    "last_action": "last_action",
    "hp": "health",
    "reward_total": "reward_total",
    "reward_step": "reward_step",
}
_NESTED_GROUPS = {
    "position": {"x": "x", "y": "y", "map": "map"},
    "player_status": {
        "health": "health",
        "levels_sum": "levels_sum",
        "badges": "badges",
        "pokemon_count": "pokemon_count",
    },
    "actions": {"last_action": "last_action"},
    "statistics": {
        "deaths": "deaths",
        "exploration_coords": "exploration_coords",
        "map_progress": "map_progress",
    },
}
_INT_SET = frozenset(INT_COLUMNS)
#: Integers beyond this are not exact as float64 (the in-memory column type): bad values.
MAX_EXACT_INT = 2**53
_FLAT_KEYS_NOT_COMPONENTS = frozenset({"reward_total", "reward_step", "reward_components"})


def entry_format(entry: dict[str, Any]) -> str:
    """The generation of one decoded entry: one of :data:`FORMATS`."""
    if "position" in entry or "rewards" in entry or "player_status" in entry:
        return "nested_total" if entry.get("total_steps") is not None else "nested"
    if entry.get("reward_total") is not None or entry.get("reward_components") is not None:
        return "flat"
    return "flat_legacy"


def number(value: Any, column: str) -> tuple[float | int | None, bool]:
    """Check one raw JSON value for a canonical column.

    Returns:
        ``(value, bad)``: the number (int for integer columns) or None, and whether the
        raw value was bad (present but not a usable number: a string, a bool, a list,
        a non-integral float in an integer column). ``None`` in is missing, not bad.
    """
    if value is None:
        return None, False
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, True
    if column in _INT_SET:
        if isinstance(value, float):
            if not value.is_integer():
                return None, True
            value = int(value)
        if abs(value) > MAX_EXACT_INT:
            return None, True
        return value, False
    if not math.isfinite(value):
        return None, True
    return float(value), False


def canonical_entry(entry: dict[str, Any]) -> tuple[dict[str, float | int], int]:
    """Map one decoded entry of any generation to canonical columns.

    Args:
        entry: one JSON object from a log file (``NaN`` tokens already turned into null).

    Returns:
        ``(row, bad_values)``: the canonical columns that have a value, and how many
        values were present but unusable (they are left out of ``row``, i.e. NULL).
    """
    raw: dict[str, Any] = {}
    if "position" in entry or "rewards" in entry or "player_status" in entry:
        raw["episode_step"] = entry.get("step")
        raw["total_steps"] = entry.get("total_steps")
        for group, fields in _NESTED_GROUPS.items():
            sub = entry.get(group)
            if sub is None:
                continue
            if not isinstance(sub, dict):
                raw[f"__{group}"] = sub  # counted as one bad value below
                continue
            for key, column in fields.items():
                raw[column] = sub.get(key)
        rewards = entry.get("rewards")
        if isinstance(rewards, dict):
            raw["reward_total"] = rewards.get("total")
            raw["reward_step"] = rewards.get("step")
            _components(rewards.get("components"), raw)
        elif rewards is not None:
            raw["__rewards"] = rewards
        statistics = entry.get("statistics")
        if isinstance(statistics, dict):
            # Fallbacks for files whose components lack these two.
            _fallback(raw, "reward_heal", statistics.get("healing_reward"))
            _fallback(raw, "reward_event", statistics.get("event_progress"))
    else:
        for key, column in _FLAT_SCALARS.items():
            raw[column] = entry.get(key)
        _components(entry.get("reward_components"), raw)
        for key, value in entry.items():
            if key.startswith("reward_") and key not in _FLAT_KEYS_NOT_COMPONENTS:
                _fallback(raw, key, value)
        _fallback(raw, "reward_event", entry.get("event"))
        _fallback(raw, "reward_heal", entry.get("healr"))
    row: dict[str, float | int] = {}
    bad = 0
    for column, value in raw.items():
        if column.startswith("__"):
            bad += 1
            continue
        checked, is_bad = number(value, column)
        bad += is_bad
        if checked is not None:
            row[column] = checked
    return row, bad


def _fallback(raw: dict[str, Any], column: str, value: Any) -> None:
    """Use ``value`` for ``column`` only where the primary source had none."""
    if raw.get(column) is None and value is not None:
        raw[column] = value


def _components(components: Any, raw: dict[str, Any]) -> None:
    if components is None:
        return
    if not isinstance(components, dict):
        raw["__components"] = components
        return
    for name, value in components.items():
        raw[f"reward_{name}"] = value


# ---------------------------------------------------------------------------
# Fast path: a typed msgspec decode of only the fields pokeviz reads. A value of an
# unexpected type makes msgspec raise, and the caller falls back to the streaming
# path, so both paths always agree.

_Float = float | None
_Int = int | None


class _Position(msgspec.Struct):
    x: _Int = None
    y: _Int = None
    map: _Int = None


class _Rewards(msgspec.Struct):
    total: _Float = None
    step: _Float = None
    components: dict[str, _Float] | None = None


class _PlayerStatus(msgspec.Struct):
    health: _Float = None
    levels_sum: _Int = None
    badges: _Int = None
    pokemon_count: _Int = None


class _Actions(msgspec.Struct):
    last_action: _Int = None


class _Statistics(msgspec.Struct):
    deaths: _Int = None
    exploration_coords: _Int = None
    map_progress: _Int = None
    healing_reward: _Float = None
    event_progress: _Float = None


class NestedEntry(msgspec.Struct, gc=False):
    """The fields of a nested / nested_total entry that pokeviz reads."""

    step: _Int = None
    total_steps: _Int = None
    position: _Position | None = None
    rewards: _Rewards | None = None
    player_status: _PlayerStatus | None = None
    actions: _Actions | None = None
    statistics: _Statistics | None = None


class FlatEntry(msgspec.Struct, gc=False):
    """The fields of a flat_legacy / flat entry that pokeviz reads."""

    step: _Int = None
    map: _Int = None
    x: _Int = None
    y: _Int = None
    badge: _Int = None
    levels_sum: _Int = None
    deaths: _Int = None
    coord_count: _Int = None
    max_map_progress: _Int = None
    pcount: _Int = None
    last_action: _Int = None
    hp: _Float = None
    event: _Float = None
    healr: _Float = None
    reward_total: _Float = None
    reward_step: _Float = None
    reward_components: dict[str, _Float] | None = None
    reward_event: _Float = None
    reward_level: _Float = None
    reward_heal: _Float = None
    reward_badge: _Float = None
    reward_explore: _Float = None
    reward_dead: _Float = None
    reward_stuck: _Float = None


NESTED_DECODER = msgspec.json.Decoder(list[NestedEntry])
_FLAT_KEYS = frozenset(FlatEntry.__struct_fields__)
_flat_decoders: dict[tuple[str, ...], msgspec.json.Decoder] = {}


def flat_decoder(extra_reward_keys: tuple[str, ...] = ()) -> msgspec.json.Decoder:
    """A decoder for flat entries that also reads the given top-level ``reward_*`` keys."""
    decoder = _flat_decoders.get(extra_reward_keys)
    if decoder is None:
        fields = [(key, _Float, None) for key in extra_reward_keys if key not in _FLAT_KEYS]
        struct = msgspec.defstruct("FlatEntryExtra", fields, bases=(FlatEntry,), gc=False)
        decoder = _flat_decoders[extra_reward_keys] = msgspec.json.Decoder(list[struct])
    return decoder


def _pick(objects: list[Any], attribute: str) -> list[Any]:
    return [None if o is None else getattr(o, attribute) for o in objects]


def _merge_fallback(primary: list[Any] | None, fallback: list[Any]) -> list[Any]:
    if primary is None:
        return fallback
    return [a if a is not None else b for a, b in zip(primary, fallback, strict=True)]


def _component_columns(dicts: list[dict[str, Any] | None], out: dict[str, list[Any]]) -> None:
    names: dict[str, None] = {}
    for d in dicts:
        if d:
            names.update(dict.fromkeys(d))
    for name in names:
        out[f"reward_{name}"] = [None if d is None else d.get(name) for d in dicts]


def nested_columns(entries: list[NestedEntry]) -> dict[str, list[Any]]:
    """Canonical columns (lists with None for missing) of a decoded nested file."""
    out: dict[str, list[Any]] = {
        "episode_step": [e.step for e in entries],
        "total_steps": [e.total_steps for e in entries],
    }
    groups = {
        "position": _NESTED_GROUPS["position"],
        "player_status": _NESTED_GROUPS["player_status"],
        "actions": _NESTED_GROUPS["actions"],
        "statistics": _NESTED_GROUPS["statistics"],
    }
    for group, fields in groups.items():
        objects = [getattr(e, group) for e in entries]
        for key, column in fields.items():
            out[column] = _pick(objects, key)
    rewards = [e.rewards for e in entries]
    out["reward_total"] = _pick(rewards, "total")
    out["reward_step"] = _pick(rewards, "step")
    _component_columns(_pick(rewards, "components"), out)
    statistics = [e.statistics for e in entries]
    heal = _pick(statistics, "healing_reward")
    out["reward_heal"] = _merge_fallback(out.get("reward_heal"), heal)
    out["reward_event"] = _merge_fallback(
        out.get("reward_event"), _pick(statistics, "event_progress")
    )
    return out


def flat_columns(entries: list[FlatEntry]) -> dict[str, list[Any]]:
    """Canonical columns (lists with None for missing) of a decoded flat file."""
    out: dict[str, list[Any]] = {}
    for key, column in _FLAT_SCALARS.items():
        out[column] = [getattr(e, key) for e in entries]
    _component_columns([e.reward_components for e in entries], out)
    for key in type(entries[0]).__struct_fields__ if entries else ():
        if key.startswith("reward_") and key not in _FLAT_KEYS_NOT_COMPONENTS:
            out[key] = _merge_fallback(out.get(key), [getattr(e, key) for e in entries])
    out["reward_event"] = _merge_fallback(out.get("reward_event"), [e.event for e in entries])
    out["reward_heal"] = _merge_fallback(out.get("reward_heal"), [e.healr for e in entries])
    return out
