"""The synthetic world: early-game Kanto maps, their warps, the route planner, the map table.

Real Pokémon Red map ids of the early game with plausible sizes, on a made-up global
layout (NOT the community table's numbers). Overworld maps touch each other edge to
edge, so walking off an edge lands on the global neighbour tile; interiors sit apart on
the right-hand side and are reached through doors.

A world can be scaled by ``S`` (1 to :data:`MAX_SCALE`): every size, warp and spawn point
is multiplied by ``S``, so the maps and their connections stay the same while each map
holds about ``S²`` as many tiles. The scaled maps are laid out anew inside the same
436 × 444 region (the overworld block scaled, the interiors packed beside it), so a
scaled world's map table has the shape of the users' table.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

from ..kanto import KANTO_SIZE, REGION_ID
from ..outputs import atomic_write

# id, name, (gx0, gy0), (width, height), overworld
MAPS: tuple[tuple[int, str, tuple[int, int], tuple[int, int], bool], ...] = (
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

# Warps: stepping onto (x, y) of the source map puts the agent on the arrival tile.
# Arrival tiles sit next to the destination's own warp, as in the game.
DOORS: tuple[tuple[int, tuple[int, int], int, tuple[int, int]], ...] = (
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
PROGRESS = (40, 0, 12, 1, 13, 51, 2, 54, 14)
#: Progress index a map belongs to: the agent only wanders to maps at or below its cap.
ANCHOR = {
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
#: Pokémon Centers and the tile where a blacked-out agent reappears in each.
CENTERS = {41: (7, 6), 58: (7, 6)}
#: Where an agent that blacks out before visiting a Pokémon Center reappears.
HOME = (37, 3, 4)
#: The gym whose leader gives the badge.
GYM = 54
GRASS = frozenset({12, 13, 51, 14})
#: Wild Pokémon type bytes by map (normal, bug, electric, flying...).
WILD_TYPES = {12: (0, 0), 13: (0, 0, 7), 51: (7, 7, 7, 23), 14: (0, 0, 2, 4)}
#: Where every episode starts: map, x, y.
START = (40, 5, 4)
# Actions as in the training env: down, left, right, up, A, B, start.
DX = (0, -1, 1, 0)
DY = (1, 0, 0, -1)
#: Largest map scale: the scaled overworld block (198 tiles high) still fits the region.
MAX_SCALE = 2.2
#: The classic layout's overworld block (overworld, forest and its gates): x0, y0, x1, y1.
_BLOCK = (58, 202, 210, 400)
#: Tiles between packed interiors.
_GAP = 2


def key(m: int, x: int, y: int) -> int:
    """One int for a tile (map, local x, local y); injective for coordinates below 1024."""
    return (m << 20) | (y << 10) | x


def _scaled(value: int, scale: float) -> int:
    """``value × scale`` rounded half up: monotonic, so touching maps keep touching."""
    return math.floor(value * scale + 0.5)


def _layout(scale: float) -> tuple[tuple[int, str, tuple[int, int], tuple[int, int], bool], ...]:
    """:data:`MAPS` at ``scale``: the overworld block scaled, interiors shelf-packed beside it.

    Sizes and origins come from scaled edges, so maps that touch still touch and maps
    apart stay apart. Deterministic; O(maps).
    """
    if scale == 1:
        return MAPS
    x0, y0, x1, y1 = _BLOCK
    width = _scaled(x1 - x0, scale)
    top = KANTO_SIZE[1] - _scaled(y1 - y0, scale)  # the block sits at the region's bottom
    out = []
    shelf_x, shelf_y, shelf_h = width + _GAP, 0, 0
    for m, name, (gx0, gy0), (w, h), ow in MAPS:
        if gx0 < x1:  # in the block
            left, right = _scaled(gx0 - x0, scale), _scaled(gx0 + w - x0, scale)
            upper, lower = _scaled(gy0 - y0, scale), _scaled(gy0 + h - y0, scale)
            out.append((m, name, (left, top + upper), (right - left, lower - upper), ow))
            continue
        sw, sh = _scaled(w, scale), _scaled(h, scale)
        if shelf_x + sw > KANTO_SIZE[0]:
            shelf_x, shelf_y, shelf_h = width + _GAP, shelf_y + shelf_h + _GAP, 0
        out.append((m, name, (shelf_x, shelf_y), (sw, sh), ow))
        shelf_x, shelf_h = shelf_x + sw + _GAP, max(shelf_h, sh)
    if shelf_y + shelf_h > KANTO_SIZE[1]:  # the strip right of the block is full
        raise ValueError(f"map scale {scale}: the interiors do not fit beside the overworld")
    return tuple(out)


class World:
    """Lookup tables of the synthetic world at one scale, built once.

    Attributes:
        scale: the factor every size and position is multiplied by.
        maps: :data:`MAPS` with sizes scaled, laid out in the region.
        size, origin, overworld: per map id.
        tiles: global tile -> (map, local x, local y) of the edge-connected overworld.
        doors: :func:`key` of a warp tile -> (destination map, arrival x, arrival y).
        next_hop: ``next_hop[m][goal] = (x, y, action)``: where to walk on ``m`` to get
            closer to ``goal`` (action -1 for a warp, else the edge-crossing action).
        wander: ``wander[cap]``: the maps an agent with that progress cap roams to.
        centers, home, start: :data:`CENTERS`, :data:`HOME`, :data:`START` scaled.
        region_size: the region's size in tiles: 436 × 444 at every scale.
    """

    def __init__(self, scale: float = 1) -> None:
        self.scale = scale
        self.maps = _layout(scale)
        self.region_size = KANTO_SIZE

        def at(x: int, y: int) -> tuple[int, int]:
            # A point keeps its place in its scaled map (floor: stays inside the map).
            return math.floor(x * scale), math.floor(y * scale)

        self.centers = {m: at(x, y) for m, (x, y) in CENTERS.items()}
        self.home = (HOME[0], *at(HOME[1], HOME[2]))
        self.start = (START[0], *at(START[1], START[2]))
        doors = tuple((m, at(x, y), dst, at(ax, ay)) for m, (x, y), dst, (ax, ay) in DOORS)
        self.size = {m: wh for m, _, _, wh, _ in self.maps}
        self.origin = {m: xy for m, _, xy, _, _ in self.maps}
        self.overworld = {m: ow for m, _, _, _, ow in self.maps}
        self.tiles: dict[tuple[int, int], tuple[int, int, int]] = {}
        for m, _, (gx0, gy0), (w, h), ow in self.maps:
            if ow:
                for y in range(h):
                    for x in range(w):
                        self.tiles[(gx0 + x, gy0 + y)] = (m, x, y)
        self.doors = {key(m, x, y): (dst, ax, ay) for m, (x, y), dst, (ax, ay) in doors}
        self.next_hop = self._plan(doors)
        self.wander = [tuple(m for m, *_ in self.maps if ANCHOR[m] <= cap) for cap in range(9)]

    def _plan(self, doors: tuple) -> dict[int, dict[int, tuple[int, int, int]]]:
        """Shortest map-to-map routes: for each map and goal, the next warp or edge."""
        # Planning graph: map -> [(neighbour, target x, target y, action or -1)].
        edges: dict[int, list[tuple[int, int, int, int]]] = {m: [] for m in self.size}
        for m, (x, y), dst, _ in doors:
            edges[m].append((dst, x, y, -1))
        for m, _, (gx0, gy0), (w, h), ow in self.maps:
            if not ow:
                continue
            for action in range(4):
                crossings = [
                    (x, y)
                    for y in range(h)
                    for x in range(w)
                    if not (0 <= x + DX[action] < w and 0 <= y + DY[action] < h)
                    and (gx0 + x + DX[action], gy0 + y + DY[action]) in self.tiles
                ]
                by_dst: dict[int, list[tuple[int, int]]] = {}
                for x, y in crossings:
                    dst = self.tiles[(gx0 + x + DX[action], gy0 + y + DY[action])][0]
                    by_dst.setdefault(dst, []).append((x, y))
                for dst, tiles in by_dst.items():
                    x, y = tiles[len(tiles) // 2]
                    edges[m].append((dst, x, y, action))
        next_hop: dict[int, dict[int, tuple[int, int, int]]] = {m: {} for m in self.size}
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
                        next_hop[m][goal] = (x, y, action)
                        break
        return next_hop


def world(scale: float = 1) -> World:
    """The :class:`World` at ``scale``, built on first use (a few ms; cached per process).

    Raises:
        ValueError: ``scale`` is not a number from 1 to :data:`MAX_SCALE`.
    """
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not (
            1 <= scale <= MAX_SCALE):  # fmt: skip
        raise ValueError(f"map scale must be a number from 1 to {MAX_SCALE}, got {scale!r}")
    return _world(float(scale))


@cache
def _world(scale: float) -> World:
    return World(scale)


def synthetic_map_table(map_scale: float = 1) -> list[dict]:
    """The made-up map table of the synthetic world, Kanto row first.

    Args:
        map_scale: the world's scale (see :func:`world`); 1 is the classic world.

    Returns:
        Entries ``{"id": "12", "name": ..., "coordinates": [gx0, gy0],
        "tileSize": [w, h]}`` for every map the generator uses, plus the
        ``{"id": "-1", "name": "Kanto", ...}`` region row (436 × 444 tiles). Maps do not
        overlap. Deterministic (a constant); O(number of maps).
    """
    scaled = world(map_scale)
    table = [
        {
            "id": str(REGION_ID),
            "name": "Kanto",
            "coordinates": [0, 0],
            "tileSize": list(scaled.region_size),
        }
    ]
    for map_id, name, (gx0, gy0), (width, height), _ in scaled.maps:
        table.append(
            {
                "id": str(map_id),
                "name": name,
                "coordinates": [gx0, gy0],
                "tileSize": [width, height],
            }
        )
    return table


def write_map_table(path: str | Path, map_scale: float = 1) -> Path:
    """Write :func:`synthetic_map_table` in the community ``map_data.json`` layout.

    The file is ``{"regions": [...]}`` indented by 4, like the table shipped with the
    training code, written atomically (:func:`pokeviz.outputs.atomic_write`), so a
    reader never sees a partial table.

    Args:
        path: the file to write; its folder is created if missing.
        map_scale: the world's scale (1: the classic world).

    Returns:
        The path written. Deterministic: always the same bytes for the same scale.

    Raises:
        OutputError: the file cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"regions": synthetic_map_table(map_scale)}, indent=4) + "\n"
    return atomic_write(path, text.encode("utf-8"))
