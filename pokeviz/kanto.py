"""The Kanto map table (``map_data.json``): finding it, loading it, global tile coordinates.

Log positions are local to a map: tile ``(x, y)`` of map ``m``. The community map table
(shipped with the training code, not with pokeviz) gives every map id its top-left
global tile ``[gx0, gy0]`` and size ``[w, h]``; tile ``(x, y)`` of map ``m`` is global
column ``x + gx0``, global row ``y + gy0`` (rows grow downward, as in the game). Id
``-1`` is the whole region, "Kanto", 436 × 444 tiles.

Search order of :func:`find_map_table` (the first hit wins):

1. the explicit path (``--map-data PATH``); it must exist;
2. the ``POKEVIZ_MAP_DATA`` environment variable; it must exist when set (non-empty);
3. walking up from the run directory (the run folder and at most
   :data:`SEARCH_LEVELS_UP` folders above it), in each folder, in this order:
   ``map_data.json``, ``data/map_data.json``, ``v2/map_data.json`` and
   ``PokemonRedExperiments/v2/map_data.json`` (where the training code keeps it).
   Only these fixed places of the run's own ancestors: never a table in some
   unrelated sibling folder.

No table found is not an error: the heatmap then draws every map in its own panel.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MapTableError

#: The environment variable naming a map table (step 2 of the search order).
ENV_VAR = "POKEVIZ_MAP_DATA"
#: The file name looked for near the run.
TABLE_NAME = "map_data.json"
#: Per folder on the way up, the places a training repo keeps its table, in order.
SEARCH_PLACES = (
    TABLE_NAME,
    f"data/{TABLE_NAME}",
    f"v2/{TABLE_NAME}",
    f"PokemonRedExperiments/v2/{TABLE_NAME}",
)
#: How many folders above the run directory the search looks in. A run sits at
#: ``<repo>/experiments/<variant>/<timestamp>``, so 4 reaches the repo's parent folder
#: (a table in a sibling checkout of the training code) and no further.
SEARCH_LEVELS_UP = 4
#: The region row's id and the region's size when a table has no such row.
REGION_ID = -1
KANTO_SIZE = (436, 444)


@dataclass(frozen=True)
class MapRegion:
    """One map of the table: its id, name, global top-left tile and size in tiles."""

    map_id: int
    name: str
    gx0: int
    gy0: int
    width: int
    height: int


@dataclass(frozen=True)
class MapTable:
    """A loaded map table: maps by id plus the region's size.

    Attributes:
        path: the file it was read from (None for a table built in code).
        maps: every map except the region row, by integer id.
        region_size: (width, height) of the whole region in tiles, from the id ``-1``
            row (436 × 444 when the table has no such row).
    """

    path: Path | None
    maps: Mapping[int, MapRegion]
    region_size: tuple[int, int] = KANTO_SIZE

    def __contains__(self, map_id: object) -> bool:
        return map_id in self.maps

    def to_global(
        self, map_ids: np.ndarray, xs: np.ndarray, ys: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Global tile coordinates of local positions.

        Args:
            map_ids, xs, ys: equal-length integer arrays (map id, local x, local y).

        Returns:
            ``(gx, gy, placed)``: ``gx = x + gx0``, ``gy = y + gy0`` where ``placed``
            (the map id is in the table) is true; ``gx``/``gy`` are 0 elsewhere. Local
            coordinates outside the map's size are still placed by the same formula.
            Pure and deterministic; O(n + maps).
        """
        map_ids = np.asarray(map_ids, dtype=np.int64)
        known = np.array(sorted(self.maps), dtype=np.int64)
        placed = np.isin(map_ids, known)
        gx0 = np.zeros(len(map_ids), dtype=np.int64)
        gy0 = np.zeros(len(map_ids), dtype=np.int64)
        if len(known):
            slot = np.searchsorted(known, map_ids[placed])
            origins = np.array([(self.maps[m].gx0, self.maps[m].gy0) for m in known.tolist()],
                               dtype=np.int64)
            gx0[placed] = origins[slot, 0]
            gy0[placed] = origins[slot, 1]
        gx = np.where(placed, np.asarray(xs, dtype=np.int64) + gx0, 0)
        gy = np.where(placed, np.asarray(ys, dtype=np.int64) + gy0, 0)
        return gx, gy, placed


def _pair(value: object, what: str, where: str) -> tuple[int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            and float(v).is_integer()
            for v in value
        )
    ):
        raise MapTableError(f"{where}: {what} must be two integers, got {value!r}")
    return int(value[0]), int(value[1])


def parse_map_table(data: object, path: Path | None = None) -> MapTable:
    """Build a :class:`MapTable` from the decoded JSON of a ``map_data.json``.

    Args:
        data: ``{"regions": [entry, ...]}`` (the community layout) or a bare list of
            entries; an entry is ``{"id": "12", "name": "Route 1", "coordinates":
            [gx0, gy0], "tileSize": [w, h]}`` (``id`` a string or an int).
        path: the file, for error messages.

    Returns:
        The table. Deterministic.

    Raises:
        MapTableError: the layout is wrong, an id repeats, or a field is missing or not
            an integer pair; the message names the file and the entry.
    """
    source = str(path) if path is not None else "map table"
    regions = data.get("regions") if isinstance(data, dict) else data
    if not isinstance(regions, list):
        raise MapTableError(
            f"{source}: expected {{\"regions\": [...]}} or a list of maps "
            "(the map_data.json of the training code)"
        )
    maps: dict[int, MapRegion] = {}
    region_size = KANTO_SIZE
    seen: set[int] = set()
    for index, entry in enumerate(regions):
        where = f"{source}: entry {index}"
        if not isinstance(entry, dict):
            raise MapTableError(f"{where}: expected an object, got {type(entry).__name__}")
        raw_id = entry.get("id")
        try:
            if isinstance(raw_id, bool) or raw_id is None:
                raise ValueError
            map_id = int(raw_id)
        except (TypeError, ValueError):
            raise MapTableError(f"{where}: 'id' must be an integer or a numeric string, "
                                f"got {raw_id!r}") from None
        where = f"{source}: map id {map_id}"
        if map_id in seen:
            raise MapTableError(f"{where}: the id appears twice")
        seen.add(map_id)
        for key in ("coordinates", "tileSize"):
            if key not in entry:
                raise MapTableError(f"{where}: no '{key}' field")
        gx0, gy0 = _pair(entry["coordinates"], "'coordinates'", where)
        width, height = _pair(entry["tileSize"], "'tileSize'", where)
        if width < 0 or height < 0:
            raise MapTableError(f"{where}: 'tileSize' must not be negative, got {[width, height]}")
        name = entry.get("name")
        name = name if isinstance(name, str) and name.strip() else f"map {map_id}"
        if map_id == REGION_ID:
            region_size = (width, height)
            continue
        maps[map_id] = MapRegion(map_id, name, gx0, gy0, width, height)
    return MapTable(path=path, maps=dict(sorted(maps.items())), region_size=region_size)


def load_map_table(path: str | Path) -> MapTable:
    """Read a ``map_data.json`` (see :func:`parse_map_table` for the layout).

    Args:
        path: the file.

    Returns:
        The table. Deterministic; reads the file once.

    Raises:
        MapTableError: the file is missing, unreadable, not JSON, or has the wrong shape;
            the message names the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MapTableError(f"{path}: no such map table; pass --map-data PATH to the "
                            "map_data.json of your training code") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MapTableError(f"{path}: cannot read the map table ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MapTableError(f"{path}: not valid JSON ({exc}); is it a map_data.json?") from None
    return parse_map_table(data, path)


def find_map_table(
    run_dir: str | Path,
    explicit: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """Find the map table for a run (search order in the module docstring).

    Args:
        run_dir: the run directory the upward search starts from.
        explicit: a path the user gave (``--map-data``); wins over everything.
        environ: the environment to read ``POKEVIZ_MAP_DATA`` from (default
            ``os.environ``).

    Returns:
        The table's path, or None when nothing was found. Cost: a few ``stat`` calls
        per folder on the way up.

    Raises:
        MapTableError: the explicit path or the environment variable names a file that
            does not exist.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise MapTableError(f"{path}: no such map table file (from --map-data)")
        return path
    environ = os.environ if environ is None else environ
    from_env = environ.get(ENV_VAR, "")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise MapTableError(
                f"{path}: no such map table file (from the {ENV_VAR} environment variable)"
            )
        return path
    return next(search_candidates(run_dir), None)


def search_candidates(run_dir: str | Path) -> Iterator[Path]:
    """Every ``map_data.json`` the upward search finds from ``run_dir``, best first.

    Lazy: stops looking as soon as the caller stops iterating.
    """
    folder = Path(run_dir).resolve()
    for _ in range(SEARCH_LEVELS_UP + 1):
        for place in SEARCH_PLACES:
            path = folder / place
            if path.is_file():
                yield path
        if folder.parent == folder:
            break
        folder = folder.parent


def resolve_map_table(
    run_dir: str | Path,
    explicit: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> tuple[MapTable | None, list[str]]:
    """Find and load the map table for a run, as ``plot`` and ``compare`` do.

    A table the user named (``--map-data``, ``POKEVIZ_MAP_DATA``) must be valid. A table
    the search finds that cannot be read is skipped with a note and the search goes on
    (some unrelated ``map_data.json`` near the run must not stop a plot).

    Returns:
        ``(table or None, notes)``.

    Raises:
        MapTableError: a named table is missing or invalid.
    """
    environ = os.environ if environ is None else environ
    if explicit is not None or environ.get(ENV_VAR):
        named = find_map_table(run_dir, explicit, environ=environ)
        assert named is not None  # find_map_table raises when a named file is missing
        return load_map_table(named), []
    notes: list[str] = []
    for path in search_candidates(run_dir):
        try:
            return load_map_table(path), notes
        except MapTableError as exc:
            notes.append(f"skipped map table {exc}")
    return None, notes
