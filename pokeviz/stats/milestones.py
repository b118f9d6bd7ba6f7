"""Milestones of a run: the first global step each map was visited and each badge count reached."""

from __future__ import annotations

from dataclasses import dataclass

from ..api import RunView
from ..kanto import MapTable

#: Milestone kinds, in the order they are listed.
KINDS = ("map", "badge")


@dataclass(frozen=True)
class Milestone:
    """One milestone of one run.

    Attributes:
        kind: ``"map"`` (first visit of a map) or ``"badge"`` (badge count first at
            least ``key``).
        key: the map id, or the badge count k (1-8).
        name: the map's name from the map table (None without a table, for a map the
            table lacks, and for badges).
        first_global_step: the global training step (see the user docs) it was reached.
    """

    kind: str
    key: int
    name: str | None
    first_global_step: int

    @property
    def label(self) -> str:
        """How tables and figures name it: the map name, ``map 40``, or ``badge 2``."""
        if self.kind == "badge":
            return f"badge {self.key}"
        return self.name or f"map {self.key}"


def milestones(view: RunView, table: MapTable | None = None) -> list[Milestone]:
    """Every milestone of a run, from its ``milestones`` view.

    How exact each kind is:

    * **map**: exact. The minimum over every entry of every file of its global step
      ``T − n + 1 + i`` (the ``tiles`` view keeps each tile's first step; a map's is the
      earliest of its tiles). Within one file entries are env-major, so like every
      global step it is exact up to the ordering inside one rollout.
    * **badge** (count k): within one log file. The cache keeps each file's exact
      maximum badge count and 100 samples per file, not every entry: the milestone is
      in the first file whose maximum reached k (exact), at the earliest sample there
      with ``badges ≥ k``, else at that file's last step. So it is never earlier than
      the true step and never later than the end of that file.

    Args:
        view: the run, open (:func:`pokeviz.api.open_run`).
        table: the map table for map names (optional).

    Returns:
        Map milestones by first step (then map id), then badge milestones by count.
        Deterministic; one small query.
    """
    rows = view.con.execute(
        "SELECT kind, key, first_global_step FROM milestones").fetchall()
    out = []
    for kind, key, step in rows:
        name = None
        if kind == "map" and table is not None and int(key) in table.maps:
            name = table.maps[int(key)].name
        out.append(Milestone(kind=kind, key=int(key), name=name, first_global_step=int(step)))
    return out
