"""Drawing and saving the run figures, the two figures side by side in two processes.

The reward figure and the heatmap share nothing once their data is read, and drawing
them (mostly matplotlib's first draw at 300 dpi and PNG encoding) is single-threaded,
so :func:`render_figures` can draw the heatmap in a forked child process while this
process draws the rewards (by default only on machines with cores to spare); in one
process, each PNG is encoded in a helper thread while the next figure is drawn. The
bytes are the same either way: a figure depends only on its data and options.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .heatmap import HeatmapData, heatmap_figure
from .rewards import RewardData, reward_figure
from .style import save_figure, theme

__all__ = ["MIN_CORES_TO_FORK", "can_fork", "render_figures"]

#: Cores needed before the figures are drawn in two processes by default.
MIN_CORES_TO_FORK = 4


def can_fork() -> bool:
    """Whether drawing in a second process is safe and likely to pay off here.

    Only on Linux, only while this process runs a single thread (forking a
    multi-threaded process, ``pokeviz watch`` or ``serve``, can copy a lock another
    thread holds), and only with more than :data:`MIN_CORES_TO_FORK` cores: measured on
    a busy 2-core machine, the fork, the pickled data and the contention made the two
    figures slower in two processes (median 2.35 s) than in one (1.94 s).
    """
    return (sys.platform.startswith("linux") and (os.cpu_count() or 1) >= MIN_CORES_TO_FORK
            and threading.active_count() == 1)


def _draw(kind: str, data: Any, title: str) -> Any:
    if kind == "rewards":
        return reward_figure(data, title=title)
    return heatmap_figure(data, title=title)


def _draw_and_save(kind: str, data: Any, title: str,
                   targets: Sequence[tuple[Path, str]]) -> list[Path]:
    with theme():
        fig = _draw(kind, data, title)
        return [save_figure(fig, path, fmt) for path, fmt in targets]


def render_figures(
    rewards: tuple[RewardData, str, Sequence[tuple[Path, str]]],
    heatmap: tuple[HeatmapData, str, Sequence[tuple[Path, str]]],
    *,
    parallel: bool | None = None,
) -> tuple[list[Path], list[Path]]:
    """Draw the reward figure and the heatmap and save each in its formats.

    Args:
        rewards, heatmap: ``(data, title, [(path, format), ...])`` of each figure.
        parallel: draw the heatmap in a forked child process meanwhile; None (default)
            does so when :func:`can_fork` says it is safe.

    Returns:
        The paths written for the rewards and for the heatmap, in ``targets`` order.

    Raises:
        OutputError: a file cannot be written (from either process).

    Deterministic: the same bytes whether drawn in one process or two.
    """
    if parallel is None:
        parallel = can_fork()
    if not parallel or not rewards[2] or not heatmap[2]:
        # One after the other: a PNG encoded in a helper thread while the next figure
        # is drawn kept both figures' pixels alive (+10-15 MB peak) for no gain on 2 cores.
        return _draw_and_save("rewards", *rewards), _draw_and_save("heatmap", *heatmap)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Imported before the fork, so the child does not import matplotlib again.
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(_draw_and_save, "heatmap", *heatmap)
        drawn = _draw_and_save("rewards", *rewards)
        return drawn, future.result()
