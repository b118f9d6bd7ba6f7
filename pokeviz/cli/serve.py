"""``pokeviz serve``: a live web dashboard over an experiments folder."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import fail_cleanly, main


@main.command()
@click.argument("experiments_dir", required=False, default=Path("experiments"),
                type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets anyone on the network read the logs.")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path),
              help="map_data.json of the training code [default: $POKEVIZ_MAP_DATA, "
              "else searched from EXPERIMENTS_DIR upward].")
@click.option("--no-watch", is_flag=True,
              help="Serve the caches as they are; do not read new log files.")
@click.option("--debounce-seconds", type=click.FloatRange(min=0), default=2.0,
              show_default=True,
              help="Read a changed log file at most this long after it changed.")
@click.option("--stall-minutes", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True,
              help="Flag a run as stalled when no log file came for this long.")
@click.option("--poll", is_flag=True,
              help="Poll for new log files instead of OS file events (network file systems).")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on unexpected failures.")
@fail_cleanly
def serve(
    experiments_dir: Path,
    host: str,
    port: int,
    map_data: Path | None,
    no_watch: bool,
    debounce_seconds: float,
    stall_minutes: float,
    poll: bool,
    verbose: bool,
) -> None:
    """Serve a live dashboard of every run under EXPERIMENTS_DIR (default ./experiments).

    Reward curves with a smoothing slider, the Kanto heatmap, where the agents are now,
    variants compared with 95 % bands, any logged column over time, the files table,
    each run's config, and SQL on the cached views with CSV download. New log files
    show up by themselves. Stop with Ctrl-C (exit 130) or SIGTERM (exit 0).

    \b
    Example:
        pokeviz serve experiments
        pokeviz serve /mnt/nfs/experiments --port 8080 --poll --stall-minutes 60
        ssh -L 8050:127.0.0.1:8050 gpu-box   # then open http://127.0.0.1:8050/
    """
    from ..serve.server import serve as run_server

    def line(text: str) -> None:
        click.echo(text)
        sys.stdout.flush()  # often piped into tee or a log file

    status = run_server(
        experiments_dir, host=host, port=port, map_data=map_data, watch=not no_watch,
        debounce_seconds=debounce_seconds, stall_minutes=stall_minutes, poll=poll,
        on_line=line,
    )
    if status:
        raise click.exceptions.Exit(status)
