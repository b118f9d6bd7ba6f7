"""``pokeviz watch``: keep a run's cache and figures current while training writes it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import fail_cleanly, main, run_options, split_formats


@main.command()
@run_options
@click.option("--format", "formats", multiple=True, default=("png",), show_default=True,
              callback=split_formats,
              help="png, pdf, svg, html; comma-separated or repeated (e.g. png,pdf).")
@click.option("--debounce-seconds", type=click.FloatRange(min=0), default=10.0,
              show_default=True, help="Re-render the figures at most once per this many seconds.")
@click.option("--poll", is_flag=True,
              help="Poll for changes instead of OS file events (network file systems, "
              "some containers).")
@click.option("--poll-seconds", type=click.FloatRange(min=0.05), default=2.0, show_default=True,
              help="Seconds between size/mtime checks of the log files (and between polls).")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path),
              help="map_data.json of the training code [default: $POKEVIZ_MAP_DATA, "
              "else searched near the run].")
@click.option("-v", "--verbose", is_flag=True, help="Print every file read, and tracebacks.")
@fail_cleanly
def watch(
    run: Path | None,
    variant: str | None,
    experiments_dir: Path,
    formats: tuple[str, ...],
    debounce_seconds: float,
    poll: bool,
    poll_seconds: float,
    map_data: Path | None,
    verbose: bool,
) -> None:
    """Keep a run's cache and figures current while training writes it.

    Catches up first, then reads each new or grown log file once it is complete and
    redraws the figures (in a worker process, reading on meanwhile) at most once per
    --debounce-seconds, printing one status line per update. Waits if RUN or
    RUN/json_logs/ does not exist yet; a path that can never become a run fails at
    once. Stop with Ctrl-C (exit 130) or SIGTERM (exit 0).

    \b
    Example:
        pokeviz watch experiments/v4/20260101_000000 --debounce-seconds 30
        pokeviz watch /mnt/nfs/experiments/v4 --poll --poll-seconds 5 --format png,pdf
    """
    from ..watch import watch_run

    if run is None and variant is None:
        raise click.UsageError("give a RUN directory, or --variant NAME")
    path = run if run is not None else experiments_dir / str(variant)

    def status(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()  # a long-running command is often piped into tee or a log

    try:
        watch_run(
            path, formats=formats, debounce_seconds=debounce_seconds, poll=poll,
            poll_seconds=poll_seconds, map_data=map_data, on_status=status, verbose=verbose,
        )
    except KeyboardInterrupt:
        click.echo("stopped (Ctrl-C)", err=True)
        raise click.exceptions.Exit(130) from None
