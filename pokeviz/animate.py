"""Time-lapse of exploration over training (``pokeviz animate``): MP4 or GIF.

One frame per log file in file order (or ``frames`` windows spread evenly over the
global steps). Each frame shows the tiles visited in its window in colour, the tiles
visited before it faded, and the global step, the cumulative unique tiles and the mean
total reward of the window (see :mod:`pokeviz.animate_frames` for the picture).

Data: the run's views through :func:`pokeviz.api.open_run` (file list, step ranges,
per-file reward statistics, the heatmap's placement) and each file's exact visits from
:meth:`pokeviz.api.RunView.file_positions`, one file at a time: memory holds the map
grids and one file's distinct tiles, never the entries.

Encoding: MP4 (H.264, yuv420p) with the ffmpeg binary the ``imageio-ffmpeg`` wheel
ships, fed raw frames through a pipe, one encoder thread, bit-exact flags and no
metadata; GIF with Pillow. The same logs and options give the same frames and, with the
same ffmpeg build, the same bytes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .api import IngestReport, RunView, find_run, open_run
from .discover import Run
from .errors import PokevizError
from .kanto import MapTable, resolve_map_table
from .outputs import atomic_write, check_formats

#: ``--format`` choices.
FORMATS = ("mp4", "gif")
DEFAULT_FPS = 10
DEFAULT_DPI = 100
#: x264 settings: constant quality, fixed preset, one thread, so output is reproducible.
X264_ARGS = ("-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p",
             "-threads", "1", "-x264-params", "threads=1:lookahead-threads=1")


@dataclass(frozen=True)
class Window:
    """The log files of one frame and what the frame says about them.

    Attributes:
        files: log file names, in file order.
        first_global_step, last_global_step: the window's global step range.
        entries: entries in its files.
        mean_reward: the mean total reward over every entry of its files that has one
            (None: no ``reward_total`` in these files).
    """

    files: tuple[str, ...]
    first_global_step: int
    last_global_step: int
    entries: int
    mean_reward: float | None


@dataclass
class AnimationResult:
    """What :func:`animate_run` wrote.

    Attributes:
        report: the run's ingest report.
        path: the video written.
        frames: frames in it (one per window).
        size: (width, height) of a frame in pixels.
        fps: frames per second.
        windows: the window of every frame.
        tiles: unique tiles explored by the end.
        notes: map table notes, files without entries, capped frame counts.
        seconds: wall time of the call.
    """

    report: IngestReport
    path: Path
    frames: int
    size: tuple[int, int]
    fps: int
    windows: list[Window]
    tiles: int
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary ``pokeviz animate`` prints."""
        out = self.report.lines()
        out.extend(f"note     {note}" for note in self.notes)
        files = sum(len(w.files) for w in self.windows)
        out.append(f"frames   {self.frames} ({files} log files with entries) · "
                   f"{self.size[0]}×{self.size[1]} px · {self.fps} fps · "
                   f"{self.frames / self.fps:.1f} s")
        out.append(f"tiles    {self.tiles:,} explored by the last frame")
        out.append(f"wrote    {self.path}")
        out.append(f"time     {self.seconds:.2f} s in total")
        return out


def animation_name(run: Run, fmt: str) -> str:
    """``{variant}_{timestamp}_exploration.{fmt}``."""
    return f"{run.variant}_{run.timestamp}_exploration.{fmt}"


def frame_groups(last_steps: Sequence[int], frames: int | None = None,
                 first_step: int = 1) -> list[range]:
    """Group files (in file order) into frames.

    Args:
        last_steps: each file's last global step, in file order.
        frames: wanted frame count; None (or at least the number of files): one frame
            per file.
        first_step: the run's first global step.

    Returns:
        Consecutive, non-empty index ranges covering every file. With fewer frames than
        files, exactly ``frames`` groups; group ``k`` ends with the first file that
        reaches ``first_step - 1 + (k + 1) · span / frames`` global steps (``span`` from
        ``first_step - 1`` to the last step), so frames are spread evenly over the steps
        as far as file boundaries allow. Pure and deterministic.

    Raises:
        ValueError: ``frames`` < 1.
    """
    n = len(last_steps)
    if frames is not None and frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if frames is None or frames >= n:
        return [range(i, i + 1) for i in range(n)]
    reached = np.maximum.accumulate(np.asarray(last_steps, dtype=np.float64))
    start = float(first_step - 1)
    span = float(reached[-1]) - start
    ends: list[int] = []
    previous = -1
    for k in range(frames):
        latest = n - (frames - k)  # leave at least one file for every later frame
        if k == frames - 1:
            end = n - 1
        else:
            target = start + (k + 1) * span / frames
            candidates = np.flatnonzero(reached[previous + 1:latest + 1] >= target)
            end = previous + 1 + int(candidates[0]) if len(candidates) else latest
        ends.append(end)
        previous = end
    starts = [0, *(e + 1 for e in ends[:-1])]
    return [range(s, e + 1) for s, e in zip(starts, ends, strict=True)]


def run_windows(view: RunView, frames: int | None = None) -> tuple[list[Window], int]:
    """The frames' windows of a run, from its ``files`` and ``file_stats`` views.

    Returns:
        ``(windows, files without entries)``; files without entries have no frame.
    """
    rows = view.con.execute(
        "SELECT file, entries, first_global_step, last_global_step FROM files "
        "ORDER BY file_order").fetchall()
    used = [r for r in rows if r[1] and r[1] > 0]
    reward = {file: (n, mean) for file, n, mean in view.con.execute(
        "SELECT file, n, mean FROM file_stats WHERE metric = 'reward_total' AND n > 0"
    ).fetchall()}
    windows = []
    first = min((r[2] for r in used), default=1)
    for group in frame_groups([r[3] for r in used], frames, first_step=first):
        part = [used[i] for i in group]
        weights = [(reward[f][0], reward[f][1]) for f, *_ in part if f in reward]
        total = sum(n for n, _ in weights)
        windows.append(Window(
            files=tuple(r[0] for r in part),
            first_global_step=min(r[2] for r in part),
            last_global_step=max(r[3] for r in part),
            entries=sum(r[1] for r in part),
            mean_reward=sum(n * m for n, m in weights) / total if total else None,
        ))
    return windows, len(rows) - len(used)


class Exploration:
    """Where the agents have been: window visits and earlier visits on the shown areas.

    Areas are the heatmap's: the global map's crop (when the run has placed visits) and
    every map without global coordinates in its local grid. :meth:`add` places one
    file's positions exactly as the heatmap does.
    """

    def __init__(self, heat: Any, table: MapTable | None, box: tuple[int, int, int, int] | None):
        self.table = table
        self.box = box
        self.heat = heat
        shapes = []
        if box is not None:
            left, right, top, bottom = box
            shapes.append((bottom - top + 1, right - left + 1))
        self.locals = {m.map_id: i + len(shapes) for i, m in enumerate(heat.unplaced)}
        shapes.extend(m.visits.shape for m in heat.unplaced)
        self.window = [np.zeros(s, dtype=np.int64) for s in shapes]
        self.seen = [np.zeros(s, dtype=bool) for s in shapes]
        # Placed tiles outside the crop (none: the crop holds every visited tile) and the
        # whole-grid tiles are counted on the full grid, so the total matches the heatmap.
        self.grid_seen = (np.zeros(heat.grid.shape, dtype=bool)
                          if heat.grid is not None else None)

    def start_window(self) -> None:
        """Fold the last window into the earlier visits and clear it."""
        for counts, before in zip(self.window, self.seen, strict=True):
            before |= counts > 0
            counts[:] = 0

    def add(self, positions: dict[str, np.ndarray]) -> None:
        """Add one file's visits (``map``, ``x``, ``y``, ``visits`` arrays) to the window."""
        maps, xs, ys, visits = (positions[c] for c in ("map", "x", "y", "visits"))
        if self.table is not None and len(maps):
            gx, gy, placed = self.table.to_global(maps, xs, ys)
        else:
            gx = gy = np.zeros(len(maps), dtype=np.int64)
            placed = np.zeros(len(maps), dtype=bool)
        if placed.any() and self.grid_seen is not None:
            ox, oy = self.heat.origin
            self.grid_seen[gy[placed] - oy, gx[placed] - ox] = True
            if self.box is not None:
                left, _, top, _ = self.box
                np.add.at(self.window[0], (gy[placed] - top, gx[placed] - left), visits[placed])
        for m in np.unique(maps[~placed]).tolist():
            mine = ~placed & (maps == m)
            local = self.heat.unplaced[self.locals[m] - (self.box is not None)]
            np.add.at(self.window[self.locals[m]],
                      (ys[mine] - local.y0, xs[mine] - local.x0), visits[mine])

    @property
    def tiles(self) -> int:
        """Unique tiles visited up to and including the current window."""
        placed = int(self.grid_seen.sum()) if self.grid_seen is not None else 0
        start = 1 if self.box is not None else 0
        loose = sum(int(((c > 0) | s).sum())
                    for c, s in zip(self.window[start:], self.seen[start:], strict=True))
        return placed + loose

    def peak(self) -> int:
        """The largest visits of one tile in the current window."""
        return max((int(c.max()) for c in self.window if c.size), default=0)


def _windows_visits(view: RunView, windows: Sequence[Window], exploration: Exploration
                    ) -> Iterator[Window]:
    """Fill ``exploration`` window by window; the files' positions come one at a time."""
    positions = view.file_positions(f for w in windows for f in w.files)
    for window in windows:
        exploration.start_window()
        for _ in window.files:
            _name, visits = next(positions)
            exploration.add(visits)
        yield window


def status_line(window: Window, tiles: int, last_step: int) -> str:
    """The frame's text: global step, cumulative unique tiles, the window's reward."""
    share = f" ({window.last_global_step / last_step:.0%})" if last_step else ""
    reward = ("no total reward logged" if window.mean_reward is None
              else f"mean total reward {window.mean_reward:,.2f}")
    return (f"global step {window.last_global_step:,}{share} · {tiles:,} tiles explored · "
            f"{reward} in this window")


def _encode_mp4(frames: Iterator[bytes], size: tuple[int, int], fps: int, out: BinaryIO) -> None:
    """Pipe raw RGB frames into the bundled ffmpeg; copy the MP4 into ``out``."""
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="pokeviz-animate-") as tmp:
        target = Path(tmp) / "video.mp4"
        errors = Path(tmp) / "ffmpeg.log"
        command = [exe, "-hide_banner", "-loglevel", "error", "-nostdin",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}",
                   "-r", str(fps), "-i", "pipe:0", "-an", *X264_ARGS,
                   "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
                   "-movflags", "+faststart", "-y", str(target)]
        with open(errors, "wb") as log:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=log)
            assert process.stdin is not None
            try:
                for frame in frames:
                    process.stdin.write(frame)
                process.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg stopped early: its log says why
            except BaseException:
                process.kill()
                process.wait()
                raise
            code = process.wait()
        if code != 0:
            message = errors.read_text(errors="replace").strip().splitlines()
            raise PokevizError(f"{exe}: ffmpeg failed (exit {code}): "
                               f"{message[-1] if message else 'no message'}")
        with open(target, "rb") as video:
            shutil.copyfileobj(video, out)


def _encode_gif(frames: Iterator[bytes], size: tuple[int, int], fps: int, out: BinaryIO) -> None:
    """Quantize each frame to 256 colours as it comes and write an endless-loop GIF."""
    from PIL import Image

    images = [
        Image.frombytes("RGB", size, frame).quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        for frame in frames
    ]
    if not images:
        raise PokevizError("no frames to write: the run has no log file with entries yet")
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000 / fps), loop=0, optimize=False, disposal=1)


def animate_run(
    run: str | Path | Run | None = None,
    *,
    variant: str | None = None,
    experiments_dir: str | Path = "experiments",
    output_dir: str | Path | None = None,
    map_data: str | Path | None = None,
    fmt: str = "mp4",
    frames: int | None = None,
    fps: int = DEFAULT_FPS,
    dpi: int = DEFAULT_DPI,
    background: str | Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    frame_progress: Callable[[int, int], Any] | None = None,
    update: bool = True,
) -> AnimationResult:
    """Write a time-lapse of a run's exploration (``pokeviz animate``).

    Args:
        run: a run directory, a variant directory (its latest run) or a :class:`Run`.
        variant, experiments_dir: with ``run=None``, the latest run of
            ``<experiments_dir>/<variant>``.
        output_dir: where to write (created); default ``<run>/plots/``.
        map_data: the ``map_data.json`` (default: ``POKEVIZ_MAP_DATA``, then a search
            near the run); without one every map gets its own panel.
        fmt: ``mp4`` (H.264) or ``gif``.
        frames: frame count when there are more log files (spread evenly over the global
            steps); default one frame per log file with entries.
        fps: frames per second.
        dpi: pixels per inch of the 8-inch-wide frame (100: 800 px wide).
        background: a Kanto map picture at 16 px per global tile, drawn under the visits.
        jobs: ingest worker processes.
        progress: ``progress(done_bytes, total_bytes)`` during the ingest.
        frame_progress: ``frame_progress(done_frames, total_frames)`` while drawing.
        update: bring the cache up to date first (default).

    Returns:
        The :class:`AnimationResult`.

    Raises:
        PokevizError: bad arguments, no such run, no log file with entries, a bad map
            table or background picture, ffmpeg failing; ``OutputError`` when the file
            cannot be written.

    Deterministic: the same logs and options give the same frames (and the same bytes
    with the same ffmpeg build). Memory: the map grids, one frame and one file's
    positions (GIF: every frame at one byte per pixel, so prefer ``frames`` for long
    runs). Cost: per frame one figure redraw, plus two passes over the files'
    positions, one filtered read per file (the first pass finds the colour scale's top).
    """
    from .animate_frames import FRAME_WIDTH_IN, FrameDrawer, load_background
    from .plots.heatmap import heatmap_data, view_box
    from .plots.style import theme

    started = time.perf_counter()
    (fmt,) = check_formats([fmt], FORMATS, "animation format")
    for name, value in (("--fps", fps), ("--dpi", dpi), ("--frames", frames or 1)):
        if value < 1:
            raise PokevizError(f"{name} must be at least 1, got {value}")
    found = find_run(run, variant=variant, experiments_dir=experiments_dir)
    table, notes = resolve_map_table(found.path, map_data)
    out_dir = Path(output_dir) if output_dir is not None else found.plots_dir
    path = out_dir / animation_name(found, fmt)
    with open_run(found, update=update, jobs=jobs, progress=progress) as view:
        windows, empty = run_windows(view, frames)
        if not windows:
            raise PokevizError(f"{found.logs_dir}: no log file has a complete entry yet; "
                               "nothing to animate")
        if empty:
            notes.append(f"{empty} log file{'s' if empty != 1 else ''} without entries: no "
                         "frame")
        files = sum(len(w.files) for w in windows)
        if frames is not None and frames > files:
            notes.append(f"--frames {frames}: only {files} log files with entries, so one "
                         "frame per file")
        heat = heatmap_data(view.con, table)
        box = view_box(heat) if heat.grid is not None and heat.placed_visits else None
        peak = Exploration(heat, table, box)
        vmax = max((peak.peak() for _ in _windows_visits(view, windows, peak)), default=1)
        picture = (load_background(background, box, round(FRAME_WIDTH_IN * dpi))
                   if background is not None and box else None)
        if background is not None and box is None:
            notes.append("--background ignored: no visits placed on the Kanto map "
                         "(no map table, or none of its maps visited)")
        exploration = Exploration(heat, table, box)
        report = view.report
        last = report.last_global_step or 0
        with theme():
            drawer = FrameDrawer(heat, title=f"{found.variant} · run {found.timestamp} · "
                                 "exploration over training", dpi=dpi, vmax=vmax,
                                 step_range=(report.first_global_step or 1, last),
                                 background=picture)

            def rendered() -> Iterator[bytes]:
                for index, window in enumerate(_windows_visits(view, windows, exploration)):
                    yield drawer.draw(exploration.window, exploration.seen,
                                      status_line(window, exploration.tiles, last),
                                      window.last_global_step)
                    if frame_progress is not None:
                        frame_progress(index + 1, len(windows))

            encode = _encode_mp4 if fmt == "mp4" else _encode_gif
            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(path, lambda out: encode(rendered(), drawer.size, fps, out))
    return AnimationResult(report=report, path=path, frames=len(windows), size=drawer.size,
                           fps=fps, windows=windows, tiles=exploration.tiles, notes=notes,
                           seconds=time.perf_counter() - started)
