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
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import numpy as np

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
# Fast path: a typed msgspec decode of only the fields pokeviz reads, then one
# vectorised pass per column. msgspec raises on any value the streaming path would count
# as bad (a string, a bool, a non-integral or out-of-range number, a non-finite float),
# and the caller then streams the file instead, so both paths always agree.
#
# Why it is shaped like this (measured on a 29 MB nested file): a Struct for the seven
# standard components decodes ~20 % faster than a ``dict`` per entry and lets columns be
# read with attribute getters; unknown component names are rare, so they are handled by
# decoding again with a ``dict`` for the components (the names are kept, never dropped).

_Float = float | None
#: Integers beyond ±2**53 are not exact as float64 (the in-memory column type): msgspec
#: rejects them, and the streaming path counts them as bad values.
_Int = Annotated[int, msgspec.Meta(ge=-MAX_EXACT_INT, le=MAX_EXACT_INT)] | None


class _Components(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The standard reward components; any other name makes the decode fail."""

    event: _Float = None
    level: _Float = None
    heal: _Float = None
    badge: _Float = None
    explore: _Float = None
    dead: _Float = None
    stuck: _Float = None


_AnyComponents = dict[str, _Float]


class _Position(msgspec.Struct, gc=False):
    x: _Int = None
    y: _Int = None
    map: _Int = None


class _Rewards(msgspec.Struct, gc=False):
    total: _Float = None
    step: _Float = None
    components: _Components | None = None


class _RewardsAnyComponents(_Rewards, gc=False):
    components: _AnyComponents | None = None


class _PlayerStatus(msgspec.Struct, gc=False):
    health: _Float = None
    levels_sum: _Int = None
    badges: _Int = None
    pokemon_count: _Int = None


class _Actions(msgspec.Struct, gc=False):
    last_action: _Int = None


class _Statistics(msgspec.Struct, gc=False):
    deaths: _Int = None
    exploration_coords: _Int = None
    map_progress: _Int = None
    healing_reward: _Float = None
    event_progress: _Float = None


class NestedEntry(msgspec.Struct, gc=False):
    """The fields of a nested / nested_total entry that pokeviz reads (standard components)."""

    step: _Int = None
    total_steps: _Int = None
    position: _Position | None = None
    rewards: _Rewards | None = None
    player_status: _PlayerStatus | None = None
    actions: _Actions | None = None
    statistics: _Statistics | None = None


class NestedEntryAnyComponents(NestedEntry, gc=False):
    """:class:`NestedEntry` with reward components of any names (a ``dict``)."""

    rewards: _RewardsAnyComponents | None = None


#: Tried first; raises ``msgspec.ValidationError`` on an unknown component name.
NESTED_DECODER = msgspec.json.Decoder(list[NestedEntry])
#: The retry for files with extra components.
NESTED_DECODER_ANY_COMPONENTS = msgspec.json.Decoder(list[NestedEntryAnyComponents])


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
    reward_components: _AnyComponents | None = None
    reward_event: _Float = None
    reward_level: _Float = None
    reward_heal: _Float = None
    reward_badge: _Float = None
    reward_explore: _Float = None
    reward_dead: _Float = None
    reward_stuck: _Float = None


class FlatEntryStandard(FlatEntry, forbid_unknown_fields=True, gc=False):
    """A flat entry with exactly the documented keys (any other key makes the decode fail).

    The keys pokeviz does not read (``levels``, ``ptypes``) are kept as raw bytes.
    """

    levels: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    ptypes: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    reward_components: _Components | None = None


#: Tried first on flat files; raises ``msgspec.ValidationError`` on any other key.
FLAT_STANDARD_DECODER = msgspec.json.Decoder(list[FlatEntryStandard])
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


def _float_array(values: list[Any]) -> np.ndarray:
    """float64 column from Python numbers, ``None`` → NaN (exact: ints are ≤ 2**53)."""
    return np.array(values, dtype=np.float64)


def _attribute(objects: list[Any], name: str) -> list[Any]:
    """``object.name`` of every object, None where the object itself is None."""
    if None in objects:
        return [None if o is None else getattr(o, name) for o in objects]
    return list(map(attrgetter(name), objects))


def _attribute_column(objects: list[Any], name: str) -> np.ndarray:
    return _float_array(_attribute(objects, name))


def _first_present(primary: np.ndarray | None, fallback: np.ndarray) -> np.ndarray:
    """Per entry, ``primary`` where it has a value, else ``fallback``."""
    if primary is None:
        return fallback
    return np.where(np.isnan(primary), fallback, primary)


def _component_columns(components: list[Any], out: dict[str, np.ndarray]) -> None:
    """Add one ``reward_<name>`` column per component name found.

    As in :func:`canonical_entry`, an entry's components override what ``out`` already
    holds for that entry (e.g. a component named ``total``) wherever the name is present,
    even with a null value.
    """
    if components.count(None) == len(components):
        return
    if not isinstance(next(c for c in components if c is not None), dict):
        # The standard components (one Struct type for the whole file).
        for name in _Components.__struct_fields__:
            out[f"reward_{name}"] = _attribute_column(components, name)
        return
    names: dict[str, None] = {}
    for d in components:
        if d:
            names.update(dict.fromkeys(d))
    for name in names:
        column = f"reward_{name}"
        values = [None if d is None else d.get(name) for d in components]
        before = out.get(column)
        if before is not None:  # keep the earlier value where the name is absent
            absent = np.array([d is None or name not in d for d in components])
            out[column] = np.where(absent, before, _float_array(values))
        else:
            out[column] = _float_array(values)


def _present(objects: list[Any], missing: Any) -> list[Any]:
    """``objects`` with each None replaced by ``missing`` (a Struct whose fields are all None)."""
    if None in objects:
        return [missing if o is None else o for o in objects]
    return objects


_NO_POSITION = _Position()
_NO_REWARDS = _Rewards()
_NO_STATUS = _PlayerStatus()
_NO_ACTIONS = _Actions()
_NO_STATISTICS = _Statistics()
_NO_COMPONENTS = _Components()


def nested_columns(
    entries: list[NestedEntry] | list[NestedEntryAnyComponents],
) -> tuple[dict[str, np.ndarray], dict[str, int]] | None:
    """Canonical columns of a decoded nested file, and its entry count per generation.

    Returns:
        ``(columns, formats)``: column name → float64 array (NaN = missing), one value
        per entry; ``formats`` counts ``nested`` and ``nested_total`` entries. None when
        some entry has none of the nested groups (a mixed file: the caller streams it).

    Cost: one list comprehension per column. The comprehensions are spelled out field by
    field because attribute access written in the code is about twice as fast as
    ``getattr``/``attrgetter`` (this is the fast path's largest cost after decoding).
    A missing group is read as a group whose fields are all missing.
    """
    positions = [e.position for e in entries]
    rewards = [e.rewards for e in entries]
    status = [e.player_status for e in entries]
    if None in positions and any(
        p is None and r is None and s is None
        for p, r, s in zip(positions, rewards, status, strict=True)
    ):
        return None
    a = _float_array
    position = _present(positions, _NO_POSITION)
    reward = _present(rewards, _NO_REWARDS)
    player = _present(status, _NO_STATUS)
    actions = _present([e.actions for e in entries], _NO_ACTIONS)
    statistics = _present([e.statistics for e in entries], _NO_STATISTICS)
    out: dict[str, np.ndarray] = {
        "episode_step": a([e.step for e in entries]),
        "total_steps": a([e.total_steps for e in entries]),
        "x": a([p.x for p in position]),
        "y": a([p.y for p in position]),
        "map": a([p.map for p in position]),
        "health": a([p.health for p in player]),
        "levels_sum": a([p.levels_sum for p in player]),
        "badges": a([p.badges for p in player]),
        "pokemon_count": a([p.pokemon_count for p in player]),
        "last_action": a([p.last_action for p in actions]),
        "deaths": a([s.deaths for s in statistics]),
        "exploration_coords": a([s.exploration_coords for s in statistics]),
        "map_progress": a([s.map_progress for s in statistics]),
        "reward_total": a([r.total for r in reward]),
        "reward_step": a([r.step for r in reward]),
    }
    components = [r.components for r in reward]
    if entries and type(entries[0]) is NestedEntryAnyComponents:
        _component_columns(components, out)
    else:
        c = _present(components, _NO_COMPONENTS)
        out["reward_event"] = a([x.event for x in c])
        out["reward_level"] = a([x.level for x in c])
        out["reward_heal"] = a([x.heal for x in c])
        out["reward_badge"] = a([x.badge for x in c])
        out["reward_explore"] = a([x.explore for x in c])
        out["reward_dead"] = a([x.dead for x in c])
        out["reward_stuck"] = a([x.stuck for x in c])
    # Fallbacks for files whose components lack these two.
    healing = a([s.healing_reward for s in statistics])
    progress = a([s.event_progress for s in statistics])
    out["reward_heal"] = _first_present(out.get("reward_heal"), healing)
    out["reward_event"] = _first_present(out.get("reward_event"), progress)
    with_total = int(np.count_nonzero(~np.isnan(out["total_steps"])))
    return out, {"nested_total": with_total, "nested": len(entries) - with_total}


def flat_columns(
    entries: list[FlatEntry] | list[FlatEntryStandard],
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Canonical columns of a decoded flat file, and its entry count per generation.

    Returns:
        ``(columns, formats)`` as for :func:`nested_columns`, with ``flat`` and
        ``flat_legacy`` counts.
    """
    out: dict[str, np.ndarray] = {}
    for key, column in _FLAT_SCALARS.items():
        out[column] = _float_array(list(map(attrgetter(key), entries)))
    components = list(map(attrgetter("reward_components"), entries))
    _component_columns(components, out)
    for key in type(entries[0]).__struct_fields__ if entries else ():
        if key.startswith("reward_") and key not in _FLAT_KEYS_NOT_COMPONENTS:
            out[key] = _first_present(out.get(key), _attribute_column(entries, key))
    event, heal = _attribute_column(entries, "event"), _attribute_column(entries, "healr")
    out["reward_event"] = _first_present(out.get("reward_event"), event)
    out["reward_heal"] = _first_present(out.get("reward_heal"), heal)
    flat = sum(e.reward_total is not None or e.reward_components is not None for e in entries)
    return out, {"flat": flat, "flat_legacy": len(entries) - flat}
