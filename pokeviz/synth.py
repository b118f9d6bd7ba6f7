"""Realistic, deterministic, fast synthetic training runs (log files and a map table)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

FORMATS = ("flat_legacy", "flat", "nested", "nested_total")

#: Agent competence at the end of training, per variant folder name (others: 0.5).
DEFAULT_SKILL = {"v1": 0.4, "v2": 0.55, "v3": 0.7, "v4": 0.85}

#: Reward units: every reward is an integer number of thousandths, so that components,
#: totals and per-step rewards add up exactly and print like the real logs (``9.4``).
_MILLI = 1000

# ---------------------------------------------------------------------------
# The world: real Pokémon Red map ids of the early game with plausible sizes, on a
# made-up global layout (NOT the community table's numbers). Overworld maps touch
# each other edge to edge, so walking off an edge lands on the global neighbour tile;
# interiors sit apart on the right-hand side and are reached through doors.

# id, name, (gx0, gy0), (width, height), overworld
_MAPS: tuple[tuple[int, str, tuple[int, int], tuple[int, int], bool], ...] = (
    (0, "Pallet Town", (110, 382), (20, 18), True),
    (12, "Route 1", (110, 346), (20, 36), True),
    (1, "Viridian City", (100, 310), (40, 36), True),
    (13, "Route 2", (110, 238), (20, 72), True),
    (2, "Pewter City", (100, 202), (40, 36), True),
    (14, "Route 3", (140, 211), (70, 18), True),
    (51, "Viridian Forest", (58, 250), (34, 48), False),
    (47, "Viridian Forest North Gate", (96, 250), (10, 8), False),
    (50, "Viridian Forest South Gate", (96, 290), (10, 8), False),
    (37, "Red's House 1F", (262, 382), (8, 8), False),
    (38, "Red's House 2F", (272, 382), (8, 8), False),
    (39, "Blue's House", (282, 382), (8, 8), False),
    (40, "Oak's Lab", (292, 382), (10, 12), False),
    (41, "Viridian Pokemon Center", (262, 330), (14, 8), False),
    (42, "Viridian Mart", (278, 330), (8, 8), False),
    (58, "Pewter Pokemon Center", (262, 212), (14, 8), False),
    (56, "Pewter Mart", (278, 212), (8, 8), False),
    (54, "Pewter Gym", (288, 212), (10, 14), False),
    (52, "Pewter Museum 1F", (300, 212), (20, 8), False),
)
_REGION_SIZE = (436, 444)

# Warps: stepping onto (x, y) of the source map puts the agent on the arrival tile.
# Arrival tiles sit next to the destination's own warp, as in the game.
_DOORS: tuple[tuple[int, tuple[int, int], int, tuple[int, int]], ...] = (
    (0, (5, 5), 37, (3, 6)),
    (37, (3, 7), 0, (5, 6)),
    (37, (7, 1), 38, (6, 1)),
    (38, (7, 1), 37, (6, 1)),
    (0, (13, 5), 39, (3, 6)),
    (39, (3, 7), 0, (13, 6)),
    (0, (12, 11), 40, (5, 10)),
    (40, (5, 11), 0, (12, 12)),
    (1, (23, 25), 41, (7, 6)),
    (41, (7, 7), 1, (23, 26)),
    (1, (29, 19), 42, (3, 6)),
    (42, (3, 7), 1, (29, 20)),
    (13, (3, 10), 47, (5, 1)),
    (47, (5, 0), 13, (3, 11)),
    (47, (5, 7), 51, (2, 1)),
    (51, (2, 0), 47, (5, 6)),
    (51, (16, 47), 50, (5, 1)),
    (50, (5, 0), 51, (16, 46)),
    (50, (5, 7), 13, (3, 46)),
    (13, (3, 45), 50, (5, 6)),
    (2, (13, 25), 58, (7, 6)),
    (58, (7, 7), 2, (13, 26)),
    (2, (23, 17), 56, (3, 6)),
    (56, (3, 7), 2, (23, 18)),
    (2, (16, 17), 54, (4, 12)),
    (54, (4, 13), 2, (16, 18)),
    (2, (15, 7), 52, (10, 6)),
    (52, (10, 7), 2, (15, 8)),
)

#: The maps that count as progress (``map_progress`` is the highest index reached).
_PROGRESS = (40, 0, 12, 1, 13, 51, 2, 54, 14)
#: Progress index a map belongs to: the agent only wanders to maps at or below its cap.
_ANCHOR = {
    40: 0,
    0: 1,
    37: 1,
    38: 1,
    39: 1,
    12: 2,
    1: 3,
    41: 3,
    42: 3,
    13: 4,
    50: 5,
    51: 5,
    47: 5,
    2: 6,
    58: 6,
    56: 6,
    52: 6,
    54: 7,
    14: 8,
}
_CENTERS = {41: (7, 6), 58: (7, 6)}
_GRASS = frozenset({12, 13, 51, 14})
#: Wild Pokémon type bytes by map (normal, bug, electric, flying...).
_WILD_TYPES = {12: (0, 0), 13: (0, 0, 7), 51: (7, 7, 7, 23), 14: (0, 0, 2, 4)}
_STARTERS = (20, 21, 22)  # fire, water, grass
_EMPTY_SLOT = 255
_START = (40, 5, 4)
_START_LEVEL = 6
# Actions as in the training env: down, left, right, up, A, B, start.
_DX = (0, -1, 1, 0)
_DY = (1, 0, 0, -1)
_A_BUTTON = 4

_EXPLORE_PER_TILE = 20  # thousandths
_LEVEL_PER_LEVEL = 500
_BADGE_REWARD = 5000
_DEATH_PENALTY = -1000
_NEW_MAP_EVENT = 500
_BADGE_EVENT = 2000
_TALK_EVENT = 50
_HEAL_PER_HP = 4  # thousandths of reward per thousandth of health healed
_STUCK_VISITS = 30
_STUCK_PENALTY = -2


def synthetic_map_table() -> list[dict]:
    """The made-up map table of the synthetic world, Kanto row first.

    Returns:
        Entries ``{"id": "12", "name": ..., "coordinates": [gx0, gy0],
        "tileSize": [w, h]}`` for every map the generator uses, plus the
        ``{"id": "-1", "name": "Kanto", ...}`` region row (436 × 444 tiles). Maps do not
        overlap. Deterministic (a constant); O(number of maps).
    """
    table = [{"id": "-1", "name": "Kanto", "coordinates": [0, 0], "tileSize": list(_REGION_SIZE)}]
    for map_id, name, (gx0, gy0), (width, height), _ in _MAPS:
        table.append(
            {
                "id": str(map_id),
                "name": name,
                "coordinates": [gx0, gy0],
                "tileSize": [width, height],
            }
        )
    return table


def write_map_table(path: str | Path) -> Path:
    """Write :func:`synthetic_map_table` in the community ``map_data.json`` layout.

    The file is ``{"regions": [...]}`` indented by 4, like the table shipped with the
    training code. It is written to a temporary file in the same folder and renamed,
    so a reader never sees a partial table.

    Args:
        path: the file to write; its folder is created if missing.

    Returns:
        The path written. Deterministic: always the same bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"regions": synthetic_map_table()}, indent=4) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class _World:
    """Lookup tables of the synthetic world, built once."""

    def __init__(self) -> None:
        self.size = {m: wh for m, _, _, wh, _ in _MAPS}
        self.origin = {m: xy for m, _, xy, _, _ in _MAPS}
        self.overworld = {m: ow for m, _, _, _, ow in _MAPS}
        # Global tile -> (map, local x, local y) for the edge-connected overworld.
        self.tiles: dict[tuple[int, int], tuple[int, int, int]] = {}
        for m, _, (gx0, gy0), (w, h), ow in _MAPS:
            if ow:
                for y in range(h):
                    for x in range(w):
                        self.tiles[(gx0 + x, gy0 + y)] = (m, x, y)
        self.doors = {_key(m, x, y): (dst, ax, ay) for m, (x, y), dst, (ax, ay) in _DOORS}
        # Planning graph: map -> [(neighbour, target x, target y, action or -1)].
        edges: dict[int, list[tuple[int, int, int, int]]] = {m: [] for m in self.size}
        for m, (x, y), dst, _ in _DOORS:
            edges[m].append((dst, x, y, -1))
        for m, _, (gx0, gy0), (w, h), ow in _MAPS:
            if not ow:
                continue
            for action in range(4):
                crossings = [
                    (x, y)
                    for y in range(h)
                    for x in range(w)
                    if not (0 <= x + _DX[action] < w and 0 <= y + _DY[action] < h)
                    and (gx0 + x + _DX[action], gy0 + y + _DY[action]) in self.tiles
                ]
                by_dst: dict[int, list[tuple[int, int]]] = {}
                for x, y in crossings:
                    dst = self.tiles[(gx0 + x + _DX[action], gy0 + y + _DY[action])][0]
                    by_dst.setdefault(dst, []).append((x, y))
                for dst, tiles in by_dst.items():
                    x, y = tiles[len(tiles) // 2]
                    edges[m].append((dst, x, y, action))
        # next_hop[m][goal] = (x, y, action): where to walk on m to get closer to goal.
        self.next_hop: dict[int, dict[int, tuple[int, int, int]]] = {m: {} for m in self.size}
        for goal in self.size:
            dist = {goal: 0}
            frontier = [goal]
            while frontier:
                nxt = []
                for node in frontier:
                    for m, targets in edges.items():
                        if m not in dist and any(t[0] == node for t in targets):
                            dist[m] = dist[node] + 1
                            nxt.append(m)
                frontier = nxt
            for m, targets in edges.items():
                if m == goal or m not in dist:
                    continue
                for dst, x, y, action in targets:
                    if dist.get(dst) == dist[m] - 1:
                        self.next_hop[m][goal] = (x, y, action)
                        break
        self.wander = [tuple(m for m, _, _, _, _ in _MAPS if _ANCHOR[m] <= cap) for cap in range(9)]


def _key(m: int, x: int, y: int) -> int:
    return (m << 16) | (y << 8) | x


_WORLD: _World | None = None


def _world() -> _World:
    global _WORLD
    if _WORLD is None:
        _WORLD = _World()
    return _WORLD


def _rng(seed: int, variant: str, *labels: object) -> np.random.Generator:
    """A generator seeded by a stable hash (not ``hash()``, which varies per process)."""
    text = "\x1f".join([str(seed), variant, *map(str, labels)])
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def _competence(skill: float, progress: float) -> float:
    """How good the agent is after ``progress`` (0..1) of training; ``skill`` at the end."""
    curve = (1.0 - math.exp(-3.5 * progress)) / (1.0 - math.exp(-3.5))
    return skill * (0.12 + 0.88 * curve)


class _Env:
    """One environment's agent: all its state carries over from one file to the next."""

    def __init__(self, rng: np.random.Generator, skill: float, starter: int) -> None:
        self.rng = rng
        self.skill = skill
        self.start_party = ((_START_LEVEL, 0, 0, 0, 0, 0), (starter,) + (_EMPTY_SLOT,) * 5)
        self.ep_step = -1
        self.ep_len = 0  # forces a reset on the first step
        self.prev_total = 0

    def reset(self, progress: float) -> None:
        rng = self.rng
        competence = _competence(self.skill, progress)
        self.p_goal = 0.08 + 0.8 * competence
        self.cap = int(min(8, max(1, round(competence * 8 + rng.normal(0.0, 0.8)))))
        self.ep_len = int(min(6000, max(150, math.exp(rng.normal(math.log(1100), 0.55)))))
        self.ep_step = 0
        self.m, self.x, self.y = _START
        self.prog = 0
        self.visits: dict[int, int] = {}
        self.hp = _MILLI
        self.deaths = self.badges = 0
        self.levels = list(self.start_party[0])
        self.ptypes = list(self.start_party[1])
        self.event = self.heal = self.stuck = 0
        self.center: int | None = None
        self.goal = _PROGRESS[1]
        self.roam: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class SynthRun:
    """What :func:`synth_run` wrote."""

    run_dir: Path  # <root>/<variant>/<timestamp>
    files: tuple[Path, ...]  # log files written, in file order
    entries_per_file: tuple[int, ...]
    total_entries: int  # sum of entries_per_file
    last_total_steps: int  # global step at the end of the last file (== total_entries)
    positions: int  # entries that have a position (== total_entries)


class _Parties:
    """Interns party states (levels, types) and renders their lists once per format."""

    def __init__(self, nested: bool) -> None:
        self.index: dict[tuple, int] = {}
        self.levels_text: list[str] = []
        self.types_text: list[str] = []
        self.nested = nested

    def intern(self, levels: list[int], types: list[int]) -> int:
        key = (tuple(levels), tuple(types))
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.levels_text)
            self.levels_text.append(self._render(levels))
            self.types_text.append(self._render(types))
        return found

    def _render(self, values: list[int]) -> str:
        if self.nested:
            # The list is the value of a key at depth 3 (array > entry > player_status).
            return json.dumps(values, indent=2).replace("\n", "\n" + " " * 6)
        return json.dumps(values)


# Row layout produced by the simulation loop.
_ROW = (
    "step",
    "x",
    "y",
    "map",
    "prog",
    "action",
    "pcount",
    "levels_sum",
    "party",
    "hp",
    "coords",
    "deaths",
    "badges",
    "event",
    "heal",
    "stuck",
)
_R = {name: i for i, name in enumerate(_ROW)}


def _simulate(env: _Env, parties: _Parties, n: int, t0: float, t1: float) -> np.ndarray:
    """Advance one env by ``n`` steps; returns an (n, len(_ROW)) int64 array."""
    world = _world()
    rng = env.rng
    u_policy = rng.random(n).tolist()
    u_event = rng.random(n).tolist()
    random_action = rng.integers(0, 7, n).tolist()
    size, origin, overworld = world.size, world.origin, world.overworld
    tiles, doors, next_hop = world.tiles, world.doors, world.next_hop
    rows = []
    append = rows.append

    def load() -> None:
        nonlocal m, x, y, w, h, gx0, gy0, is_overworld, grass, hop
        m, x, y = env.m, env.x, env.y
        w, h = size[m]
        gx0, gy0 = origin[m]
        is_overworld, grass = overworld[m], m in _GRASS
        hop = _hop(env, next_hop)

    m = x = y = w = h = gx0 = gy0 = 0
    is_overworld = grass = False
    hop: tuple[int, int, int] = (0, 0, -1)
    if env.ep_step + 1 >= env.ep_len:
        env.reset(t0)
        env.ep_step = -1
    load()
    party = parties.intern(env.levels, env.ptypes)
    pcount = sum(t != _EMPTY_SLOT for t in env.ptypes)
    levels_sum = sum(env.levels)
    visits = env.visits
    ep_step, ep_len, p_goal = env.ep_step, env.ep_len, env.p_goal
    hp, event, heal, stuck = env.hp, env.event, env.heal, env.stuck
    for i in range(n):
        ep_step += 1
        if ep_step >= ep_len:
            env.reset(t0 + (t1 - t0) * i / n)
            load()
            visits = env.visits
            ep_len, p_goal = env.ep_len, env.p_goal
            ep_step = 0
            hp, event, heal, stuck = env.hp, env.event, env.heal, env.stuck
            party = parties.intern(env.levels, env.ptypes)
            pcount, levels_sum = 1, _START_LEVEL
        u = u_policy[i]
        if u < p_goal:
            tx, ty, action = hop
            if tx == x and ty == y:
                if action < 0:  # reached a roaming target: pick another
                    env.roam = None
                    hop = _hop(env, next_hop)
                    action = random_action[i]
            elif tx != x and (ty == y or u < 0.5 * p_goal):
                action = 2 if tx > x else 1
            else:
                action = 0 if ty > y else 3
        else:
            action = random_action[i]
        if action < 4:
            nx, ny = x + _DX[action], y + _DY[action]
            moved_map = False
            if 0 <= nx < w and 0 <= ny < h:
                warp = doors.get((m << 16) | (ny << 8) | nx)
                if warp is None:
                    x, y = nx, ny
                else:
                    m, x, y = warp
                    moved_map = True
            elif is_overworld:
                dest = tiles.get((gx0 + nx, gy0 + ny))
                if dest is not None:
                    m, x, y = dest
                    moved_map = True
            if moved_map:
                env.m, env.x, env.y = m, x, y
                event = _arrive(env, event)
                if m in _CENTERS:
                    env.center = m
                load()
        elif action == _A_BUTTON and not is_overworld and u_event[i] < 0.01:
            event += _TALK_EVENT
        key = (m << 16) | (y << 8) | x
        count = visits.get(key, 0) + 1
        visits[key] = count
        if count > _STUCK_VISITS:
            stuck += _STUCK_PENALTY
        if grass and u_event[i] < 0.02:
            env.hp = hp
            died = _battle(env, m)
            hp = env.hp
            if died:
                m, x, y = env.m, env.x, env.y
                load()
            party = parties.intern(env.levels, env.ptypes)
            pcount = sum(t != _EMPTY_SLOT for t in env.ptypes)
            levels_sum = sum(env.levels)
        elif m in _CENTERS and hp < _MILLI and u_event[i] < 0.1:
            heal += (_MILLI - hp) * _HEAL_PER_HP
            hp = env.hp = _MILLI
        elif m == 54 and not env.badges and u_event[i] < 0.01 * (max(env.levels) - 9):
            env.badges = 1
            event += _BADGE_EVENT
        append(
            (
                ep_step,
                x,
                y,
                m,
                env.prog,
                action,
                pcount,
                levels_sum,
                party,
                hp,
                len(visits),
                env.deaths,
                env.badges,
                event,
                heal,
                stuck,
            )
        )
    env.ep_step = ep_step
    env.x, env.y, env.m = x, y, m
    env.hp, env.event, env.heal, env.stuck = hp, event, heal, stuck
    return np.array(rows, dtype=np.int64)


def _hop(env: _Env, next_hop: dict[int, dict[int, tuple[int, int, int]]]) -> tuple[int, int, int]:
    """Where the agent heads on its current map: a warp, an edge, or a tile to roam to."""
    m = env.m
    # The gym holds a skilled agent until it wins the badge (it must battle the leader).
    if env.goal == m and not (m == 54 and not env.badges and env.rng.random() < env.skill):
        if env.prog < env.cap:
            env.goal = _PROGRESS[env.prog + 1]
        else:
            choices = _world().wander[env.cap]
            env.goal = choices[int(env.rng.integers(len(choices)))]
    if env.goal != m:
        found = next_hop[m].get(env.goal)
        if found is not None:
            return found
    if env.roam is None or env.roam[2] != m:
        w, h = _world().size[m]
        env.roam = (int(env.rng.integers(w)), int(env.rng.integers(h)), m)
    return env.roam[0], env.roam[1], -1


def _arrive(env: _Env, event: int) -> int:
    """Bookkeeping when the agent enters a map: progress and its event reward."""
    index = _ANCHOR[env.m]
    if env.m == _PROGRESS[index] and index > env.prog:
        event += _NEW_MAP_EVENT * (index - env.prog)
        env.prog = index
        if env.prog < env.cap and env.goal not in _CENTERS:
            env.goal = _PROGRESS[env.prog + 1]
    env.roam = None
    return event


def _battle(env: _Env, m: int) -> bool:
    """One wild battle: damage, maybe a level-up or a catch, maybe a blackout."""
    rng = env.rng
    strength = max(env.levels)
    damage = int((40 + 300 * rng.random()) * max(0.35, 1.0 - strength / 40))
    env.hp -= damage
    if env.hp <= 0:
        env.deaths += 1
        env.hp = _MILLI
        if env.center is not None:
            env.m, (env.x, env.y) = env.center, _CENTERS[env.center]
        else:
            env.m, env.x, env.y = 37, 3, 4
        env.roam = None
        return True
    filled = [i for i, t in enumerate(env.ptypes) if t != _EMPTY_SLOT]
    if rng.random() < 0.5:
        slot = 0 if rng.random() < 0.7 else filled[int(rng.integers(len(filled)))]
        env.levels[slot] = min(100, env.levels[slot] + 1)
    if len(filled) < 6 and rng.random() < 0.12:
        wild = _WILD_TYPES[m]
        env.levels[len(filled)] = int(rng.integers(2, 8))
        env.ptypes[len(filled)] = wild[int(rng.integers(len(wild)))]
    if env.hp < 350 and env.prog >= 3 and rng.random() < env.skill:
        env.goal = 41 if env.prog < 6 else 58
    return False


# ---------------------------------------------------------------------------
# Text output: templates derived from json.dumps itself, so the layout is json.dump's.

_INT_FIELDS = frozenset(
    {
        "step",
        "x",
        "y",
        "map",
        "prog",
        "action",
        "pcount",
        "levels_sum",
        "coords",
        "deaths",
        "badges",
    }
)
_TEXT_FIELDS = frozenset({"levels", "ptypes"})
_COMPONENTS = ("event", "level", "heal", "badge", "explore", "dead", "stuck")
_PLACEHOLDER = re.compile(r'"@(\w+)@"')


def _sample_entry(fmt: str) -> dict:
    """An entry of ``fmt`` whose values are placeholders naming the columns."""

    def p(name: str) -> str:
        return f"@{name}@"

    components = {c: p(f"r_{c}") for c in _COMPONENTS}
    if fmt in ("flat_legacy", "flat"):
        entry = {
            "step": p("step"),
            "x": p("x"),
            "y": p("y"),
            "map": p("map"),
            "max_map_progress": p("prog"),
            "last_action": p("action"),
            "pcount": p("pcount"),
            "levels": p("levels"),
            "levels_sum": p("levels_sum"),
            "ptypes": p("ptypes"),
            "hp": p("hp"),
            "coord_count": p("coords"),
            "deaths": p("deaths"),
            "badge": p("badges"),
            "event": p("r_event"),
            "healr": p("r_heal"),
        }
        if fmt == "flat":
            entry["reward_total"] = p("r_total")
            entry["reward_step"] = p("r_step")
            entry["reward_components"] = components
            entry.update({f"reward_{c}": p(f"r_{c}") for c in _COMPONENTS})
        return entry
    entry = {"step": p("step")}
    if fmt == "nested_total":
        entry["total_steps"] = p("total_steps")
    entry.update(
        {
            "position": {"x": p("x"), "y": p("y"), "map": p("map")},
            "rewards": {"total": p("r_total"), "step": p("r_step"), "components": components},
            "player_status": {
                "health": p("hp"),
                "levels": p("levels"),
                "levels_sum": p("levels_sum"),
                "badges": p("badges"),
                "pokemon_count": p("pcount"),
                "pokemon_types": p("ptypes"),
            },
            "actions": {"last_action": p("action")},
            "statistics": {
                "deaths": p("deaths"),
                "exploration_coords": p("coords"),
                "map_progress": p("prog"),
                "healing_reward": p("r_heal"),
                "event_progress": p("r_event"),
            },
        }
    )
    return entry


def _template(fmt: str, total_steps: int) -> tuple[str, list[str]]:
    """A %-template of one entry (as json.dump lays it out in a list) and its columns."""
    if fmt in ("flat_legacy", "flat"):
        text = json.dumps(_sample_entry(fmt))
    else:
        text = json.dumps([_sample_entry(fmt)], indent=2)[2:-2]  # strip "[\n" and "\n]"
    text = text.replace("%", "%%").replace('"@total_steps@"', str(total_steps))
    columns = _PLACEHOLDER.findall(text)

    def spec(match: re.Match) -> str:
        name = match.group(1)
        if name in _TEXT_FIELDS:
            return "%s"
        return "%d" if name in _INT_FIELDS else "%r"

    return _PLACEHOLDER.sub(spec, text), columns


def _columns(rows: np.ndarray, env: _Env, parties: _Parties) -> dict[str, list]:
    """Per-column Python values of one env block (rewards derived vectorised)."""
    col = {name: rows[:, i] for i, name in enumerate(_ROW)}
    start = col["step"] == 0
    milli = {
        "r_event": col["event"],
        "r_level": (col["levels_sum"] - _START_LEVEL) * _LEVEL_PER_LEVEL,
        "r_heal": col["heal"],
        "r_badge": col["badges"] * _BADGE_REWARD,
        "r_explore": col["coords"] * _EXPLORE_PER_TILE,
        "r_dead": col["deaths"] * _DEATH_PENALTY,
        "r_stuck": col["stuck"],
    }
    total = sum(milli.values())
    previous = np.concatenate(([env.prev_total], total[:-1]))
    env.prev_total = int(total[-1])
    milli["r_total"] = total
    milli["r_step"] = np.where(start, total, total - previous)
    out: dict[str, list] = {name: (values / _MILLI).tolist() for name, values in milli.items()}
    out["hp"] = (col["hp"] / _MILLI).tolist()
    for name in _INT_FIELDS:
        out[name] = col[name].tolist()
    party = col["party"].tolist()
    out["levels"] = [parties.levels_text[p] for p in party]
    out["ptypes"] = [parties.types_text[p] for p in party]
    return out


def _default_skill(variant: str) -> float:
    return DEFAULT_SKILL.get(variant, 0.5)


def synth_run(
    root: str | Path,
    *,
    variant: str = "v4",
    timestamp: str = "20260101_000000",
    files: int = 8,
    envs: int = 4,
    steps_per_env: int = 256,
    fmt: str = "nested_total",
    seed: int = 0,
    final: bool = True,
    start_seconds: int = 1767225600,
    skill: float | None = None,
) -> SynthRun:
    """Write one synthetic training run: ``<root>/<variant>/<timestamp>/json_logs/``.

    Each of the ``envs`` environments is an agent that carries its state from file to
    file: episodes of random length (``step`` restarts at 0), a biased random walk over
    real early-game map ids with local tile coordinates, battles, level-ups, catches,
    deaths, healing and a badge, and cumulative per-episode reward components. Agents
    improve over the run, faster with higher ``skill``. Files are env-major JSON arrays
    laid out exactly as ``json.dump`` (compact for flat formats, ``indent=2`` for nested).

    Args:
        root: the experiments folder; created if missing.
        variant: the variant folder name; also seeds the run and sets the default skill.
        timestamp: the run folder name.
        files: number of log files (rollouts), at least 1.
        envs: number of parallel environments, at least 1.
        steps_per_env: entries per env per file, at least 1.
        fmt: one of :data:`FORMATS`.
        seed: any int; with ``variant`` it seeds every random choice.
        final: if true and ``files >= 2``, the last file is ``stats_final_<s>.json``
            holding ``max(1, steps_per_env // 2)`` steps per env.
        start_seconds: the number in the first file's name; later files add a rollout
            duration of 60-119 s each.
        skill: competence reached at the end of training, 0..1; default by variant
            (v1 0.4, v2 0.55, v3 0.7, v4 0.85, others 0.5).

    Returns:
        A :class:`SynthRun` describing the files written.

    Raises:
        ValueError: for an unknown ``fmt`` or a non-positive size.

    Deterministic: the same arguments give byte-identical files (seeds come from a
    stable hash of ``seed``, ``variant`` and the env index). Cost: O(entries) time,
    memory bounded by one env block (``steps_per_env`` entries). About 1.3 µs of
    simulation and 1-5 µs of formatting and writing per entry: ~140 MB/s nested,
    ~110 MB/s flat on one core.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if files < 1 or envs < 1 or steps_per_env < 1:
        raise ValueError("files, envs and steps_per_env must all be at least 1")
    run_dir = Path(root) / variant / timestamp
    logs_dir = run_dir / "json_logs"
    logs_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    (run_dir / "tensorboard").mkdir(exist_ok=True)

    run_rng = _rng(seed, variant, "run")
    starter = _STARTERS[int(run_rng.integers(len(_STARTERS)))]
    durations = run_rng.integers(60, 120, files).tolist()
    skill = _default_skill(variant) if skill is None else float(skill)
    environments = [_Env(_rng(seed, variant, "env", e), skill, starter) for e in range(envs)]
    parties = _Parties(nested=fmt.startswith("nested"))
    nested = fmt.startswith("nested")
    opening, separator, closing = ("[\n", ",\n", "\n]") if nested else ("[", ", ", "]")

    paths: list[Path] = []
    counts: list[int] = []
    seconds = start_seconds
    total_steps = 0
    for index in range(files):
        is_final = final and files >= 2 and index == files - 1
        n = max(1, steps_per_env // 2) if is_final else steps_per_env
        total_steps += n * envs
        template, order = _template(fmt, total_steps)
        name = f"stats_final_{seconds}.json" if is_final else f"stats_{seconds}.json"
        path = logs_dir / name
        t0, t1 = index / files, (index + 1) / files
        with open(path, "w", encoding="ascii", newline="") as f:
            f.write(opening)
            for e, env in enumerate(environments):
                rows = _simulate(env, parties, n, t0, t1)
                columns = _columns(rows, env, parties)
                if e:
                    f.write(separator)
                values = zip(*(columns[c] for c in order), strict=True)
                f.write(separator.join(map(template.__mod__, values)))
            f.write(closing)
        paths.append(path)
        counts.append(n * envs)
        seconds += durations[index]
    return SynthRun(
        run_dir=run_dir,
        files=tuple(paths),
        entries_per_file=tuple(counts),
        total_entries=total_steps,
        last_total_steps=total_steps,
        positions=total_steps,
    )


def synth_experiments(
    root: str | Path,
    *,
    variants: Iterable[str] = ("v4",),
    runs: int = 1,
    files: int = 8,
    envs: int = 4,
    steps_per_env: int = 256,
    fmt: str = "nested_total",
    seed: int = 0,
    map_table: bool = True,
) -> list[SynthRun]:
    """Write an experiments folder: ``runs`` runs of every variant (+ a map table).

    Run ``i`` of a variant is named ``20260101_000000`` plus ``i`` hours, starts its log
    file numbers at that time, and has its own seed derived from ``seed`` and ``i``.

    Args:
        root: the experiments folder; created if missing.
        variants: variant folder names, e.g. ``("v1", "v2", "v3", "v4")``.
        runs: runs per variant.
        files, envs, steps_per_env, fmt: as for :func:`synth_run`.
        seed: base seed.
        map_table: also write ``<root>/map_data.json`` with :func:`write_map_table`.

    Returns:
        One :class:`SynthRun` per run, variant by variant, oldest run first.

    Deterministic like :func:`synth_run`; cost is the sum of its runs.
    """
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    results = []
    for variant in variants:
        for i in range(runs):
            when = base + timedelta(hours=i)
            results.append(
                synth_run(
                    root,
                    variant=variant,
                    timestamp=when.strftime("%Y%m%d_%H%M%S"),
                    files=files,
                    envs=envs,
                    steps_per_env=steps_per_env,
                    fmt=fmt,
                    seed=seed * 1_000_003 + i,
                    start_seconds=int(when.timestamp()),
                )
            )
    if map_table:
        write_map_table(Path(root) / "map_data.json")
    return results
