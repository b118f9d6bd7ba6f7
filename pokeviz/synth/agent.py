"""The synthetic agent: one environment's biased random walk, battles and rewards.

Each environment is an agent that carries its state from one log file to the next:
episodes of random length, a walk over the world's maps that heads for the next
progress map with a probability that grows with training, wild battles with level-ups,
catches and blackouts, healing in Pokémon Centers and the gym badge. :func:`simulate`
returns the rows the writer turns into log entries.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .world import ANCHOR, DX, DY, GRASS, GYM, PROGRESS, WILD_TYPES, World

#: Agent competence at the end of training, per variant folder name (others: 0.5).
DEFAULT_SKILL = {"v1": 0.4, "v2": 0.55, "v3": 0.7, "v4": 0.85}

#: Reward units: every reward is an integer number of thousandths, so that components,
#: totals and per-step rewards add up exactly and print like the real logs (``9.4``).
MILLI = 1000

STARTERS = (20, 21, 22)  # fire, water, grass
EMPTY_SLOT = 255
START_LEVEL = 6
A_BUTTON = 4

EXPLORE_PER_TILE = 20  # thousandths
LEVEL_PER_LEVEL = 500
BADGE_REWARD = 5000
DEATH_PENALTY = -1000
_NEW_MAP_EVENT = 500
BADGE_EVENT = 2000
_TALK_EVENT = 50
_HEAL_PER_HP = 4  # thousandths of reward per thousandth of health healed
_STUCK_VISITS = 30
_STUCK_PENALTY = -2
#: Highest progress index an agent can be capped at.
_TOP = len(PROGRESS) - 1

#: Columns of the rows :func:`simulate` returns, in order.
ROW = (
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


def default_skill(variant: str) -> float:
    """The competence an agent of ``variant`` reaches at the end of training."""
    return DEFAULT_SKILL.get(variant, 0.5)


def seeded_rng(seed: int, variant: str, *labels: object) -> np.random.Generator:
    """A generator seeded by a stable hash (not ``hash()``, which varies per process)."""
    text = "\x1f".join([str(seed), variant, *map(str, labels)])
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def _competence(skill: float, progress: float) -> float:
    """How good the agent is after ``progress`` (0..1) of training; ``skill`` at the end."""
    curve = (1.0 - math.exp(-3.5 * progress)) / (1.0 - math.exp(-3.5))
    return skill * (0.12 + 0.88 * curve)


class Env:
    """One environment's agent: all its state carries over from one file to the next."""

    def __init__(
        self,
        rng: np.random.Generator,
        skill: float,
        starter: int,
        world: World,
        explore: float = 0.0,
    ) -> None:
        self.rng = rng
        self.skill = skill
        self.world = world
        self.explore = explore
        self.start_party = ((START_LEVEL, 0, 0, 0, 0, 0), (starter,) + (EMPTY_SLOT,) * 5)
        self.ep_step = -1
        self.ep_len = 0  # forces a reset on the first step
        self.prev_total = 0

    def reset(self, progress: float) -> None:
        """Start a new episode at ``progress`` (0..1) of training."""
        rng = self.rng
        competence = _competence(self.skill, progress)
        self.p_goal = 0.08 + 0.8 * competence
        self.cap = int(min(_TOP, max(1, round(competence * _TOP + rng.normal(0.0, 0.8)))))
        self.ep_len = int(min(6000, max(150, math.exp(rng.normal(math.log(1100), 0.55)))))
        self.ep_step = 0
        self.m, self.x, self.y = self.world.start
        self.prog = 0
        self.visits: dict[int, int] = {}
        self.hp = MILLI
        self.deaths = self.badges = 0
        self.levels = list(self.start_party[0])
        self.ptypes = list(self.start_party[1])
        self.event = self.heal = self.stuck = 0
        self.center: int | None = None
        self.goal = PROGRESS[1]
        self.roam: tuple[int, int, int] | None = None


class PartyIndex:
    """Interns party states (levels, types) as small ints; the writer renders each once."""

    def __init__(self) -> None:
        self.index: dict[tuple, int] = {}
        self.states: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def intern(self, levels: list[int], types: list[int]) -> int:
        """The number of this party state (new states get the next number)."""
        state = (tuple(levels), tuple(types))
        found = self.index.get(state)
        if found is None:
            found = self.index[state] = len(self.states)
            self.states.append(state)
        return found


def simulate(env: Env, parties: PartyIndex, n: int, t0: float, t1: float) -> np.ndarray:
    """Advance one env by ``n`` steps during training progress ``t0``..``t1``.

    Returns:
        An ``(n, len(ROW))`` int64 array; rewards are cumulative thousandths per episode.
        Deterministic given the env's generator state; O(n) Python steps (~1.3 µs each).
    """
    world = env.world
    rng = env.rng
    u_policy = rng.random(n).tolist()
    u_event = rng.random(n).tolist()
    random_action = rng.integers(0, 7, n).tolist()
    size, origin, overworld = world.size, world.origin, world.overworld
    tiles, doors, next_hop, centers = world.tiles, world.doors, world.next_hop, world.centers
    rows = []
    append = rows.append

    def load() -> None:
        nonlocal m, x, y, w, h, gx0, gy0, is_overworld, grass, hop
        m, x, y = env.m, env.x, env.y
        w, h = size[m]
        gx0, gy0 = origin[m]
        is_overworld, grass = overworld[m], m in GRASS
        hop = _hop(env, next_hop)

    m = x = y = w = h = gx0 = gy0 = 0
    is_overworld = grass = False
    hop: tuple[int, int, int] = (0, 0, -1)
    if env.ep_step + 1 >= env.ep_len:
        env.reset(t0)
        env.ep_step = -1
    load()
    party = parties.intern(env.levels, env.ptypes)
    pcount = sum(t != EMPTY_SLOT for t in env.ptypes)
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
            pcount, levels_sum = 1, START_LEVEL
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
            nx, ny = x + DX[action], y + DY[action]
            moved_map = False
            if 0 <= nx < w and 0 <= ny < h:
                warp = doors.get((m << 20) | (ny << 10) | nx)  # key(m, nx, ny), inlined
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
                if m in centers:
                    env.center = m
                load()
        elif action == A_BUTTON and not is_overworld and u_event[i] < 0.01:
            event += _TALK_EVENT
        here = (m << 20) | (y << 10) | x  # key(m, x, y), inlined: the hottest line
        count = visits.get(here, 0) + 1
        visits[here] = count
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
            pcount = sum(t != EMPTY_SLOT for t in env.ptypes)
            levels_sum = sum(env.levels)
        elif m in centers and hp < MILLI and u_event[i] < 0.1:
            heal += (MILLI - hp) * _HEAL_PER_HP
            hp = env.hp = MILLI
        elif m == GYM and not env.badges and u_event[i] < 0.01 * (max(env.levels) - 9):
            env.badges = 1
            event += BADGE_EVENT
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


def _hop(env: Env, next_hop: dict[int, dict[int, tuple[int, int, int]]]) -> tuple[int, int, int]:
    """Where the agent heads on its current map: a warp, an edge, or a tile to roam to."""
    m = env.m
    # The gym holds a skilled agent until it wins the badge (it must battle the leader).
    if env.goal == m and not (m == GYM and not env.badges and env.rng.random() < env.skill):
        if env.prog < env.cap:
            env.goal = PROGRESS[env.prog + 1]
        else:
            choices = env.world.wander[env.cap]
            env.goal = choices[int(env.rng.integers(len(choices)))]
    # An exploring agent first walks to a random tile of the map it is on. No draw at
    # all when ``explore`` is 0, so the classic agent's random stream stays the same.
    if env.goal != m and not (env.explore and env.rng.random() < env.explore):
        found = next_hop[m].get(env.goal)
        if found is not None:
            return found
    if env.roam is None or env.roam[2] != m:
        w, h = env.world.size[m]
        env.roam = (int(env.rng.integers(w)), int(env.rng.integers(h)), m)
    return env.roam[0], env.roam[1], -1


def _arrive(env: Env, event: int) -> int:
    """Bookkeeping when the agent enters a map: progress and its event reward."""
    index = ANCHOR[env.m]
    if env.m == PROGRESS[index] and index > env.prog:
        event += _NEW_MAP_EVENT * (index - env.prog)
        env.prog = index
        if env.prog < env.cap and env.goal not in env.world.centers:
            env.goal = PROGRESS[env.prog + 1]
    env.roam = None
    return event


def _battle(env: Env, m: int) -> bool:
    """One wild battle: damage, maybe a level-up or a catch, maybe a blackout."""
    rng = env.rng
    strength = max(env.levels)
    damage = int((40 + 300 * rng.random()) * max(0.35, 1.0 - strength / 40))
    env.hp -= damage
    if env.hp <= 0:
        env.deaths += 1
        env.hp = MILLI
        if env.center is not None:
            env.m, (env.x, env.y) = env.center, env.world.centers[env.center]
        else:
            env.m, env.x, env.y = env.world.home
        env.roam = None
        return True
    filled = [i for i, t in enumerate(env.ptypes) if t != EMPTY_SLOT]
    if rng.random() < 0.5:
        slot = 0 if rng.random() < 0.7 else filled[int(rng.integers(len(filled)))]
        env.levels[slot] = min(100, env.levels[slot] + 1)
    if len(filled) < 6 and rng.random() < 0.12:
        wild = WILD_TYPES[m]
        env.levels[len(filled)] = int(rng.integers(2, 8))
        env.ptypes[len(filled)] = wild[int(rng.integers(len(wild)))]
    if env.hp < 350 and env.prog >= 3 and rng.random() < env.skill:
        env.goal = 41 if env.prog < 6 else 58
    return False
