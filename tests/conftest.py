"""Shared fixtures: hand-made runs and log files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RunMaker = Callable[..., Path]


def deep_root(base: Path) -> Path:
    """An experiments folder 4 levels below ``base``, so the map table search (the
    folder and the 4 above it, each with ``*/map_data.json``) stays inside ``base`` and
    never finds another test's table."""
    return base / "w" / "x" / "y" / "z" / "experiments"


@pytest.fixture
def no_map_table_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``POKEVIZ_MAP_DATA`` of the machine: the figure tests choose their map table
    (``pytestmark = pytest.mark.usefixtures("no_map_table_from_the_environment")``)."""
    from pokeviz.kanto import ENV_VAR

    monkeypatch.delenv(ENV_VAR, raising=False)


def nested_entry(step: int, *, total_steps: int | None = None, map_id: int = 0, x: int = 1,
                 y: int = 2, total: float = 1.5, **components: float) -> dict[str, Any]:
    """One nested (or nested_total) entry as the training callback writes it."""
    entry: dict[str, Any] = {"step": step}
    if total_steps is not None:
        entry["total_steps"] = total_steps
    comps = {"event": 0.5, "level": 1.0, "heal": 0.0, "badge": 0.0, "explore": 0.25,
             "dead": 0.0, "stuck": -0.25}
    comps.update(components)
    entry.update(
        {
            "position": {"x": x, "y": y, "map": map_id},
            "rewards": {"total": total, "step": 0.1, "components": comps},
            "player_status": {"health": 0.9, "levels": [6, 0, 0, 0, 0, 0], "levels_sum": 6,
                              "badges": 0, "pokemon_count": 1,
                              "pokemon_types": [20, 255, 255, 255, 255, 255]},
            "actions": {"last_action": 3},
            "statistics": {"deaths": 0, "exploration_coords": 41, "map_progress": 1,
                           "healing_reward": 0.0, "event_progress": 0.5},
        }
    )
    return entry


def nested_entries(n: int, *, total_steps: int | None = None, start: int = 0) -> list[dict]:
    """``n`` nested entries walking over a few tiles of maps 0 and 12."""
    return [
        nested_entry(start + i, total_steps=total_steps, map_id=(0, 12)[i % 2], x=i % 5,
                     y=(i // 5) % 4, total=float(i % 7))
        for i in range(n)
    ]


@pytest.fixture
def make_run(tmp_path: Path) -> RunMaker:
    """Write a run ``<tmp>/experiments/<variant>/<timestamp>/json_logs/`` from texts.

    Call as ``make_run({"stats_1.json": text_or_entries, ...})``; lists are written with
    ``json.dumps(indent=2)``. Returns the run directory.
    """

    def make(files: dict[str, str | bytes | list], variant: str = "v4",
             timestamp: str = "20260101_000000") -> Path:
        run = tmp_path / "experiments" / variant / timestamp
        logs = run / "json_logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            if isinstance(content, list):
                content = json.dumps(content, indent=2)
            data = content.encode() if isinstance(content, str) else content
            (logs / name).write_bytes(data)
        return run

    return make


@pytest.fixture
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running; the watch test modules apply it to every
    test with ``pytestmark = pytest.mark.usefixtures("no_leaked_threads")``."""
    from .watch_support import thread_leak_check  # it imports this module

    yield from thread_leak_check()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Any:
    """How often the ingest read each log file during the test (``watch_support.Reads``)."""
    from .watch_support import count_reads

    return count_reads(monkeypatch)
