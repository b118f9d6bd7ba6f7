"""Drawing and saving the run figures, the two figures side by side in two processes.

The reward figure and the heatmap share nothing once their data is read, and drawing
them (mostly matplotlib's first draw at 300 dpi and PNG encoding) is single-threaded,
so :func:`render_figures` can draw the heatmap in a forked child process while this
process draws the rewards (by default when a core is idle). A figure file whose inputs
are unchanged since it was written is kept and not drawn (:mod:`.memo`). The bytes are
the same either way: a figure depends only on its data and options.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .heatmap import HeatmapData, heatmap_figure
from .memo import FigureMemo
from .rewards import RewardData, reward_figure
from .style import save_figure, theme

__all__ = ["MIN_CORES_TO_FORK", "can_fork", "render_figures"]

#: Cores needed before the figures are drawn in two processes by default.
MIN_CORES_TO_FORK = 2


def can_fork() -> bool:
    """Whether drawing in a second process is safe and likely to pay off here.

    Only on Linux, only while this process runs a single thread (forking a
    multi-threaded process, ``pokeviz watch`` or ``serve``, can copy a lock another
    thread holds), with at least :data:`MIN_CORES_TO_FORK` cores and a core idle (the
    1-minute load average below the cores minus one). Measured on the 40-file bench run
    on 2 cores: idle, two processes took 1.56-1.67 s against 2.28-2.45 s in one; on a
    busy machine the contention made two processes slower (2.35 s against 1.94 s).
    """
    cores = os.cpu_count() or 1
    return (sys.platform.startswith("linux") and cores >= MIN_CORES_TO_FORK
            and os.getloadavg()[0] < cores - 1 and threading.active_count() == 1)


def _draw(kind: str, data: Any, title: str) -> Any:
    if kind == "rewards":
        return reward_figure(data, title=title)
    return heatmap_figure(data, title=title)


def _draw_and_save(kind: str, data: Any, title: str,
                   targets: Sequence[tuple[Path, str]]) -> list[Path]:
    if not targets:
        return []
    with theme():
        fig = _draw(kind, data, title)
        return [save_figure(fig, path, fmt) for path, fmt in targets]


def render_figures(
    rewards: tuple[RewardData, str, Sequence[tuple[Path, str]]],
    heatmap: tuple[HeatmapData, str, Sequence[tuple[Path, str]]],
    *,
    parallel: bool | None = None,
    memo: FigureMemo | None = None,
) -> tuple[list[Path], list[Path]]:
    """Draw the reward figure and the heatmap and save each in its formats.

    Args:
        rewards, heatmap: ``(data, title, [(path, format), ...])`` of each figure.
        parallel: draw the heatmap in a forked child process meanwhile; None (default)
            does so when :func:`can_fork` says it is safe.
        memo: keep files whose inputs are unchanged (listed in ``memo.kept``) and
            record the others once written; the caller saves it. None draws all.

    Returns:
        The paths of the rewards and of the heatmap (written or kept), in ``targets``
        order.

    Raises:
        OutputError: a file cannot be written (from either process).

    Deterministic: the same bytes whether drawn in one process or two.
    """
    todo = tuple(list(targets) if memo is None else memo.to_draw(data, title, targets)
                 for data, title, targets in (rewards, heatmap))
    if todo[0] and todo[1] and (can_fork() if parallel is None else parallel):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Imported before the fork, so the child does not import matplotlib again.
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.figure  # noqa: F401

        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            future = pool.submit(_draw_and_save, "heatmap", *heatmap[:2], todo[1])
            _draw_and_save("rewards", *rewards[:2], todo[0])
            future.result()
    else:
        _draw_and_save("rewards", *rewards[:2], todo[0])
        _draw_and_save("heatmap", *heatmap[:2], todo[1])
    if memo is not None:
        for path, _ in (*todo[0], *todo[1]):
            memo.remember(path)
    return [Path(p) for p, _ in rewards[2]], [Path(p) for p, _ in heatmap[2]]
