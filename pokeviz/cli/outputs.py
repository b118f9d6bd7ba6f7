"""``pokeviz report`` and ``pokeviz animate``: a run as one PDF, its exploration as a video."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .common import echo_peak_memory, fail_cleanly, ingest_options, main, progress_bar, run_options

_MAP_DATA_HELP = ("map_data.json of the training code [default: $POKEVIZ_MAP_DATA, else "
                  "searched near the run].")


def _finish(result: Any, verbose: bool) -> None:
    for line in result.lines():
        click.echo(line)
    if verbose:
        for line in result.report.file_lines():
            click.echo(line)
        echo_peak_memory()


@main.command()
@run_options
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the report here instead of RUN/plots/.")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path), help=_MAP_DATA_HELP)
@ingest_options
@fail_cleanly
def report(
    run: Path | None,
    variant: str | None,
    experiments_dir: Path,
    output_dir: Path | None,
    map_data: Path | None,
    jobs: int | None,
    verbose: bool,
) -> None:
    """Write a run's PDF report: overview, figures, tables (cache updated first).

    Writes {variant}_{timestamp}_report.pdf into RUN/plots/ (or --output-dir): a title
    page (variant, run, dates, files, entries, sampling ratio, global steps, problems),
    the reward figure, the Kanto heatmap, the reward component table and the
    exploration milestones. Vector PDF with searchable text; same logs, same bytes.

    \b
    Example:
        pokeviz report experiments/v4
        pokeviz report --variant v4 --map-data ../PokemonRedExperiments/v2/map_data.json
    """
    from ..report import report_run

    update, close = progress_bar("ingest")
    try:
        result = report_run(run, variant=variant, experiments_dir=experiments_dir,
                            output_dir=output_dir, map_data=map_data, jobs=jobs,
                            progress=update)
    finally:
        close()
    _finish(result, verbose)


@main.command()
@run_options
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the video here instead of RUN/plots/.")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path), help=_MAP_DATA_HELP)
@click.option("--format", "fmt", type=click.Choice(["mp4", "gif"], case_sensitive=False),
              default="mp4", show_default=True, help="H.264 video or animated GIF.")
@click.option("--frames", type=click.IntRange(min=1),
              help="Frames spread evenly over the global steps [default: one per log file].")
@click.option("--fps", type=click.IntRange(min=1), default=10, show_default=True,
              help="Frames per second.")
@click.option("--dpi", type=click.IntRange(min=10), default=100, show_default=True,
              help="Pixels per inch of the 8-inch-wide frame (100: 800 px wide).")
@click.option("--background", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A Kanto map picture at 16 px per global tile, drawn under the visits.")
@ingest_options
@fail_cleanly
def animate(
    run: Path | None,
    variant: str | None,
    experiments_dir: Path,
    output_dir: Path | None,
    map_data: Path | None,
    fmt: str,
    frames: int | None,
    fps: int,
    dpi: int,
    background: Path | None,
    jobs: int | None,
    verbose: bool,
) -> None:
    """Write a time-lapse of a run's exploration over training (MP4 or GIF).

    One frame per log file in file order (or --frames N spread evenly over the global
    steps) on the global Kanto map (per-map panels without a map table): the tiles
    visited in that window in colour, everything visited before faded, and the global
    step, tiles explored so far and the window's mean total reward. Writes
    {variant}_{timestamp}_exploration.{mp4,gif} into RUN/plots/ (or --output-dir).

    \b
    Example:
        pokeviz animate experiments/v4
        pokeviz animate --variant v4 --format gif --frames 40 --fps 8 --dpi 60
        pokeviz animate experiments/v4 --background kanto_big.png
    """
    from tqdm import tqdm

    from ..animate import animate_run

    update, close = progress_bar("ingest")
    bar: dict[str, Any] = {}

    def frame_done(done: int, total: int) -> None:
        close()  # the ingest is over once frames are drawn
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit="frame", desc="frames", file=sys.stderr,
                              disable=None)
        bar["bar"].update(done - bar["bar"].n)

    try:
        result = animate_run(run, variant=variant, experiments_dir=experiments_dir,
                             output_dir=output_dir, map_data=map_data, fmt=fmt.lower(),
                             frames=frames, fps=fps, dpi=dpi, background=background,
                             jobs=jobs, progress=update, frame_progress=frame_done)
    finally:
        close()
        if "bar" in bar:
            bar["bar"].close()
    _finish(result, verbose)
