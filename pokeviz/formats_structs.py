"""The fast path's view of the log formats: msgspec structs and vectorised columns.

Only the fields pokeviz reads are decoded; :func:`nested_columns` and
:func:`flat_columns` turn the decoded entries into the canonical columns of
:mod:`pokeviz.formats`, with the same values :func:`pokeviz.formats.canonical_entry`
gives for each entry.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import numpy as np

from .formats import FLAT_KEYS_NOT_COMPONENTS, FLAT_SCALARS, MAX_EXACT_INT

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


#: The lenient decoders skip unknown keys (at any depth, so the caller checks the
#: nesting depth of the text first); the standard one raises ``msgspec.ValidationError``
#: on an unknown component name.
NESTED_DECODER = msgspec.json.Decoder(list[NestedEntry])
#: The lenient retry for files with extra components.
NESTED_DECODER_ANY_COMPONENTS = msgspec.json.Decoder(list[NestedEntryAnyComponents])


# The strict decoders accept exactly the documented keys, so a text they decode is at
# most five levels deep except inside the two raw lists (see :func:`raw_lists`). They
# are tried first: most files are documented entries and then need no depth scan.


class _PositionStrict(_Position, forbid_unknown_fields=True, gc=False):
    pass


class _RewardsStrict(_Rewards, forbid_unknown_fields=True, gc=False):
    pass


class _RewardsAnyComponentsStrict(_RewardsAnyComponents, forbid_unknown_fields=True, gc=False):
    pass


class _PlayerStatusStrict(_PlayerStatus, forbid_unknown_fields=True, gc=False):
    levels: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    pokemon_types: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)


class _ActionsStrict(_Actions, forbid_unknown_fields=True, gc=False):
    pass


class _StatisticsStrict(_Statistics, forbid_unknown_fields=True, gc=False):
    pass


class _NestedEntryStrict(NestedEntry, forbid_unknown_fields=True, gc=False):
    position: _PositionStrict | None = None
    rewards: _RewardsStrict | None = None
    player_status: _PlayerStatusStrict | None = None
    actions: _ActionsStrict | None = None
    statistics: _StatisticsStrict | None = None


class _NestedEntryAnyComponentsStrict(_NestedEntryStrict, forbid_unknown_fields=True, gc=False):
    rewards: _RewardsAnyComponentsStrict | None = None


_ANY_COMPONENTS_TYPES = (NestedEntryAnyComponents, _NestedEntryAnyComponentsStrict)
#: Strict decoders, tried in this order before the lenient ones.
NESTED_STRICT_DECODERS = (
    msgspec.json.Decoder(list[_NestedEntryStrict]),
    msgspec.json.Decoder(list[_NestedEntryAnyComponentsStrict]),
)


def raw_lists(entries: list[Any]) -> list[msgspec.Raw]:
    """The raw ``levels``/``pokemon_types`` (nested) or ``levels``/``ptypes`` (flat) values
    of entries decoded by a strict decoder; empty for other entries."""
    if not entries:
        return []
    first = entries[0]
    if isinstance(first, FlatEntryStandard):
        return [e.levels for e in entries] + [e.ptypes for e in entries]
    if not isinstance(first, _NestedEntryStrict):
        return []
    status = [e.player_status for e in entries if e.player_status is not None]
    return [s.levels for s in status] + [s.pokemon_types for s in status]


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

    Cost: one pass over the entries building a tuple of every field, then one numpy
    conversion (:func:`_nested_columns_at_once`); entries with a missing group or extra
    components take one list comprehension per column instead. The attribute accesses
    are spelled out field by field because that is about twice as fast as
    ``getattr``/``attrgetter`` (this is the fast path's largest cost after decoding).
    A missing group is read as a group whose fields are all missing.
    """
    quick = _nested_columns_at_once(entries)
    if quick is not None:
        return quick
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
    if entries and isinstance(entries[0], _ANY_COMPONENTS_TYPES):
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


#: The columns :func:`_nested_columns_at_once` reads, in the order of its tuples; the
#: last two are the fallbacks for the heal and event components.
_AT_ONCE = (
    "episode_step", "total_steps", "x", "y", "map", "health", "levels_sum", "badges",
    "pokemon_count", "last_action", "deaths", "exploration_coords", "map_progress",
    "reward_total", "reward_step", *(f"reward_{name}" for name in _Components.__struct_fields__),
    "healing_reward", "event_progress",
)  # fmt: skip


def _nested_columns_at_once(
    entries: list[Any],
) -> tuple[dict[str, np.ndarray], dict[str, int]] | None:
    """:func:`nested_columns` for entries that have every group and standard components.

    None when some entry lacks a group or has extra components (the caller then reads
    the columns one by one). Same values as the per-column code: ints are exact in
    float64 (they are at most 2**53) and nulls become NaN.
    """
    try:
        rows = [
            (
                e.step, e.total_steps, (p := e.position).x, p.y, p.map,
                (s := e.player_status).health, s.levels_sum, s.badges, s.pokemon_count,
                e.actions.last_action,
                (t := e.statistics).deaths, t.exploration_coords, t.map_progress,
                (r := e.rewards).total, r.step,
                (c := r.components).event, c.level, c.heal, c.badge, c.explore, c.dead,
                c.stuck,
                t.healing_reward, t.event_progress,
            )
            for e in entries
        ]  # fmt: skip
    except AttributeError:  # a missing group (None) or components held in a dict
        return None
    width = len(_AT_ONCE)
    try:
        flat = np.fromiter(chain.from_iterable(rows), np.float64, count=width * len(rows))
    except TypeError:  # a null somewhere: the slower conversion maps it to NaN
        flat = np.array(rows, dtype=np.float64).reshape(-1)
    columns = flat.reshape(len(rows), width).T.copy()
    out = dict(zip(_AT_ONCE, columns, strict=True))
    healing, progress = out.pop("healing_reward"), out.pop("event_progress")
    out["reward_heal"] = _first_present(out["reward_heal"], healing)
    out["reward_event"] = _first_present(out["reward_event"], progress)
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
    for key, column in FLAT_SCALARS.items():
        out[column] = _float_array(list(map(attrgetter(key), entries)))
    components = list(map(attrgetter("reward_components"), entries))
    _component_columns(components, out)
    for key in type(entries[0]).__struct_fields__ if entries else ():
        if key.startswith("reward_") and key not in FLAT_KEYS_NOT_COMPONENTS:
            out[key] = _first_present(out.get(key), _attribute_column(entries, key))
    event, heal = _attribute_column(entries, "event"), _attribute_column(entries, "healr")
    out["reward_event"] = _first_present(out.get("reward_event"), event)
    out["reward_heal"] = _first_present(out.get("reward_heal"), heal)
    flat = sum(e.reward_total is not None or e.reward_components is not None for e in entries)
    return out, {"flat": flat, "flat_legacy": len(entries) - flat}
