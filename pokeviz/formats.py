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
streaming path) and :mod:`pokeviz.formats_structs` for slices decoded by msgspec (the
fast path). Both give the same values for the same entry.
"""

from __future__ import annotations

import math
from typing import Any

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

#: Flat key → canonical column for the scalar fields.
FLAT_SCALARS = {
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
#: Top-level flat ``reward_*`` keys that are not reward components.
FLAT_KEYS_NOT_COMPONENTS = frozenset({"reward_total", "reward_step", "reward_components"})


#: Top-level keys only the nested generations have.
NESTED_KEYS = ("position", "rewards", "player_status")


def is_nested(entry: dict[str, Any]) -> bool:
    """Whether a decoded entry is of a nested generation (3 or 4)."""
    return any(key in entry for key in NESTED_KEYS)


def entry_format(entry: dict[str, Any]) -> str:
    """The generation of one decoded entry: one of :data:`FORMATS`."""
    if is_nested(entry):
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
    try:
        value = float(value)
    except OverflowError:  # an integer literal beyond the float range, e.g. 10**400
        return None, True
    if not math.isfinite(value):
        return None, True
    return value, False


def canonical_entry(entry: dict[str, Any]) -> tuple[dict[str, float | int], int]:
    """Map one decoded entry of any generation to canonical columns.

    Args:
        entry: one JSON object from a log file (``NaN`` tokens already turned into null).

    Returns:
        ``(row, bad_values)``: the canonical columns that have a value, and how many
        values were present but unusable (they are left out of ``row``, i.e. NULL).
    """
    raw: dict[str, Any] = {}
    if is_nested(entry):
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
        for key, column in FLAT_SCALARS.items():
            raw[column] = entry.get(key)
        _components(entry.get("reward_components"), raw)
        for key, value in entry.items():
            if key.startswith("reward_") and key not in FLAT_KEYS_NOT_COMPONENTS:
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
