"""``pokeviz stats``: IQM, bootstrap CIs, probability of improvement and milestones."""

from __future__ import annotations

from pathlib import Path

import click

from .common import (
    comma_choices,
    echo_peak_memory,
    executor_for,
    fail_cleanly,
    main,
    run_progress_bars,
    scheduler_option,
    variants_options,
)


def _split_figure_formats(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    from ..stats.compute import FIGURE_FORMATS

    return comma_choices(values, FIGURE_FORMATS, ("png",))


@main.command()
@variants_options("Every run of each variant, or only its latest.")
@click.option("--metric", default="reward_total", show_default=True,
              help="reward_total, reward_<component>, badges, levels_sum, deaths, "
              "explored_tiles, … (an unknown name lists the valid ones).")
@click.option("--at", "at", default="final", show_default=True,
              help="final: score each run on its last log file; STEP: on the log file "
              "whose global step range holds STEP (runs that end before are left out).")
@click.option("--reps", type=click.IntRange(min=100), default=2000, show_default=True,
              help="Bootstrap replicates.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Bootstrap seed (same seed, same intervals).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "latex"]),
              default="table", show_default=True, help="Output on stdout.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the figures here instead of EXPERIMENTS_DIR/plots/.")
@click.option("--figure-format", "figure_formats", multiple=True, default=("png",),
              show_default=True, callback=_split_figure_formats,
              help="png, pdf, svg; comma-separated or repeated.")
@click.option("--no-figures", is_flag=True, help="Only print the statistics.")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path),
              help="map_data.json for map names [default: $POKEVIZ_MAP_DATA, else "
              "searched from EXPERIMENTS_DIR upward].")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Ingest worker processes [default: cores].")
@scheduler_option
@click.option("-v", "--verbose", is_flag=True, help="Peak memory and tracebacks.")
@fail_cleanly
def stats(
    variants: tuple[str, ...],
    experiments_dir: Path,
    runs: str,
    metric: str,
    at: str,
    reps: int,
    seed: int,
    fmt: str,
    output_dir: Path | None,
    figure_formats: tuple[str, ...],
    no_figures: bool,
    map_data: Path | None,
    jobs: int | None,
    scheduler: str | None,
    verbose: bool,
) -> None:
    """The statistics an RL paper needs: IQM, bootstrap CIs, P(X > Y), milestones.

    A run's score is the exact mean of --metric over every entry of one log file: its
    last file (--at final), or the file whose global step range holds --at STEP (runs
    that have not reached STEP are left out, with a warning naming them).
    explored_tiles counts the distinct (map, x, y) tiles first visited up to that
    file's end. Per variant: IQM (25 % trimmed mean), mean and median with 95 %
    stratified bootstrap CIs (rliable's definitions; seeded). For every ordered pair
    of variants: P(X > Y) over run pairs (ties ½) with a bootstrap CI. Per run and
    variant: the first global step of each map (exact) and badge count (within one
    log file). Figures (interval estimates, P(X > Y), sample-efficiency curve,
    milestones) go to EXPERIMENTS_DIR/plots/ as stats_{variants}_*.png.

    \b
    Example:
        pokeviz stats
        pokeviz stats v1 v4 --metric badges --at 2000000 --format latex
        pokeviz stats --experiments-dir demo/experiments --format json > stats.json
        pokeviz stats v1 v4 --scheduler tcp://10.0.0.5:8786
    """
    from ..stats import variant_stats
    from ..stats.output import render, summary_lines

    with run_progress_bars() as progress, executor_for(scheduler) as executor:
        result = variant_stats(
            list(variants) or None, experiments_dir=experiments_dir, runs=runs, metric=metric,
            at=at, reps=reps, seed=seed, output_dir=output_dir, figure_formats=figure_formats,
            figures=not no_figures, jobs=jobs, map_data=map_data, progress=progress,
            executor=executor)
    click.echo(render(result, fmt), nl=False)
    # Machine-readable output stays clean on stdout; the summary goes to stderr then.
    to_stderr = fmt != "table"
    if not to_stderr:
        click.echo("")
    for line in summary_lines(result):
        click.echo(line, err=to_stderr)
    if verbose:
        echo_peak_memory()
