"""Realistic, deterministic, fast synthetic training runs (log files and a map table).

Three parts, one job each: :mod:`.world` (maps, warps, route planner, the map table),
:mod:`.agent` (one environment's walk, battles and rewards) and :mod:`.writer` (rows to
files laid out exactly as ``json.dump`` does, and the runs and experiments folders).
"""

from __future__ import annotations

from ..formats import FORMATS
from .agent import DEFAULT_SKILL
from .world import MAX_SCALE, synthetic_map_table, write_map_table
from .writer import SynthRun, synth_experiments, synth_run

__all__ = [
    "DEFAULT_SKILL",
    "FORMATS",
    "MAX_SCALE",
    "SynthRun",
    "synth_experiments",
    "synth_run",
    "synthetic_map_table",
    "write_map_table",
]
