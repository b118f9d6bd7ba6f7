"""``pokeviz plot``, ``demo`` and ``compare``: the figures."""

from __future__ import annotations

from pathlib import Path

import click

from .common import (
    comma_choices,
    echo_peak_memory,
    executor_for,
    fail_cleanly,
    main,
    plot_options,
    print_plot_result,
    progress_bar,
    run_options,
    run_progress_bars,
    scheduler_option,
    variants_options,
)


@main.command()
@run_options
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the figures here instead of RUN/plots/.")
@click.option("--smooth-window", type=click.IntRange(min=1), default=50, show_default=True,
              help="Rolling-mean window over the samples (reduced when there are few).")
@click.option("--samples", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Reservoir samples shown in the reward figure.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Picks the reservoir sample (0: the standard one).")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path),
              help="map_data.json of the training code [default: $POKEVIZ_MAP_DATA, "
              "else searched near the run].")
@click.option("--redraw", is_flag=True,
              help="Draw every image again, even those whose data, options and code are "
              "unchanged since they were written (kept by default: the same bytes).")
@plot_options
@fail_cleanly
def plot(
    run: Path | None,
    variant: str | None,
    experiments_dir: Path,
    output_dir: Path | None,
    smooth_window: int,
    samples: int,
    seed: int,
    map_data: Path | None,
    redraw: bool,
    formats: tuple[str, ...],
    jobs: int | None,
    verbose: bool,
) -> None:
    """Write a run's reward figure and Kanto heatmap (cache updated first).

    Writes {variant}_{timestamp}_rewards.{fmt} and {variant}_{timestamp}_heatmap.{fmt}
    into RUN/plots/ (or --output-dir) at 300 dpi; --format html writes interactive,
    self-contained Plotly pages of the same data. Same logs, same options: the same
    bytes. Unchanged runs read no log file, and an image whose data and options
    are unchanged is kept as it is (--redraw draws it again).

    \b
    Example:
        pokeviz plot experiments/v4 --format png,pdf
        pokeviz plot experiments/v4 --format html
        pokeviz plot --variant v4 --map-data ../PokemonRedExperiments/v2/map_data.json
    """
    from ..plots import plot_run

    update, close = progress_bar("ingest")
    try:
        result = plot_run(
            run, variant=variant, experiments_dir=experiments_dir, output_dir=output_dir,
            formats=formats, smooth_window=smooth_window, samples=samples, seed=seed,
            map_data=map_data, jobs=jobs, progress=update, redraw=redraw,
        )
    finally:
        close()
    print_plot_result(result, verbose)


@main.command()
@click.argument("directory", required=False, default=Path("demo"),
                type=click.Path(file_okay=False, path_type=Path))
@plot_options
@fail_cleanly
def demo(directory: Path, formats: tuple[str, ...], jobs: int | None, verbose: bool) -> None:
    """Generate synthetic runs (first time only) and plot the latest v4 run.

    DIRECTORY (default ./demo) gets experiments/ with two runs each of v1-v4 and a
    made-up map table, unless it already holds runs; then the figures of the latest
    v4 run, and a comparison of all variants (pokeviz compare) in DIRECTORY/plots/,
    are written and their paths printed.

    \b
    Example:
        pokeviz demo
        pokeviz demo /tmp/pokeviz-demo --format png,svg
    """
    from ..demo import demo_run

    update, close = progress_bar("ingest")
    try:
        result = demo_run(directory, formats=formats, jobs=jobs, progress=update,
                          on_generate=lambda path: click.echo(f"generating synthetic runs "
                                                              f"in {path} ..."))
    finally:
        close()
    print_plot_result(result, verbose)


def _split_metrics(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """``--metric badges,levels`` and ``--metric badges --metric levels`` are the same."""
    from ..plots.compare import DEFAULT_METRICS, METRICS

    return comma_choices(values, METRICS, DEFAULT_METRICS)


@main.command()
@variants_options("Every run of each variant (band across them), or only its latest.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the figures here instead of EXPERIMENTS_DIR/plots/.")
@click.option("--metric", "metrics", multiple=True, callback=_split_metrics,
              help="reward_total, exploration, badges, levels, deaths; comma-separated or "
              "repeated [default: reward_total,exploration].")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path),
              help="map_data.json for global tiles [default: $POKEVIZ_MAP_DATA, else "
              "searched from EXPERIMENTS_DIR upward].")
@click.option("--band", type=click.Choice(["ci95", "se", "sd", "none"]), default="ci95",
              show_default=True,
              help="Band around each mean: 95 % CI of the mean (Student's t), ± 1 standard "
              "error, ± 1 standard deviation, or none. The y axis follows the means.")
@click.option("--report", is_flag=True,
              help="Also write compare_{v1-v2-...}_report.pdf: every figure and per-variant "
              "tables of runs, final scores (mean ± 95 % CI) and steps to milestones.")
@click.option("--redraw", is_flag=True,
              help="Draw every image again, even those whose figure data is unchanged "
              "since they were written (kept by default: the same bytes).")
@scheduler_option
@plot_options(detail="Per-run")
@fail_cleanly
def compare(
    variants: tuple[str, ...],
    experiments_dir: Path,
    runs: str,
    output_dir: Path | None,
    metrics: tuple[str, ...],
    map_data: Path | None,
    band: str,
    report: bool,
    redraw: bool,
    scheduler: str | None,
    formats: tuple[str, ...],
    jobs: int | None,
    verbose: bool,
) -> None:
    """Compare variants side by side: mean over runs with a band, game progress.

    VARIANT names folders under --experiments-dir (default: all of them). Each run is
    ingested first (only new or changed log files are read). Writes
    compare_{v1-v2-...}_{metric}.{fmt} (the variants drawn; html: an interactive page)
    and prints a table per variant: runs, entries, last global step, total reward at
    the largest step all its runs reached (mean ± 95 % CI over runs), tiles, badges.

    \b
    Metrics:
        reward_total  per-file mean of the episode's total reward
        exploration   cumulative unique tiles (global Kanto tiles with a map table)
        badges        per-file mean and max of the badge count
        levels        per-file mean and max of levels_sum
        deaths        per-file mean and max of the logged deaths

    \b
    Example:
        pokeviz compare
        pokeviz compare v1 v4 --metric reward_total,badges --format png,pdf
        pokeviz compare --experiments-dir demo/experiments --runs latest
        pokeviz compare v1 v4 --band se --format png,html
        pokeviz compare v1 v4 --report
        pokeviz compare --scheduler local:2
    """
    from ..plots.compare import compare_variants

    with run_progress_bars() as progress, executor_for(scheduler) as executor:
        result = compare_variants(
            list(variants) or None, experiments_dir=experiments_dir, runs=runs,
            output_dir=output_dir, formats=formats, metrics=metrics, jobs=jobs,
            map_data=map_data, progress=progress, band=band, executor=executor,
            redraw=redraw,
        )
    if verbose:
        for line in result.run_lines():
            click.echo(line)
        echo_peak_memory()
    for line in result.lines():
        click.echo(line)
    if report:
        from ..report import compare_report

        written = compare_report(result, experiments_dir=experiments_dir, output_dir=output_dir)
        click.echo(f"wrote    {written.path}")
