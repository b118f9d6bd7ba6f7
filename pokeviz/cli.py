"""The ``pokeviz`` command line: thin click wrappers over the library functions."""

from __future__ import annotations

import csv
import functools
import io
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import PokevizError


def run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The RUN argument and ``--variant`` / ``--experiments-dir`` of every run command."""

    @click.argument("run", required=False, type=click.Path(path_type=Path))
    @click.option("--variant", help="Take the latest run of this variant instead of RUN.")
    @click.option(
        "--experiments-dir",
        type=click.Path(path_type=Path),
        default=Path("experiments"),
        show_default=True,
        help="Where variant folders live (with --variant).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def fail_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PokevizError into ``Error: …`` and exit 1; with -v, show tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PokevizError as exc:
            raise click.ClickException(str(exc)) from exc
        except (KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:
            if kwargs.get("verbose"):
                traceback.print_exc()
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (run again with -v for the traceback)"
            ) from exc

    return wrapper


def echo_peak_memory() -> None:
    """Print the peak RSS of this process and of its largest worker process."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    click.echo(f"memory   peak RSS {peak:.0f} MB (largest worker {workers:.0f} MB)")


def progress_bar(label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A tqdm byte progress bar on stderr (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(
                total=total, unit="B", unit_scale=True, desc=label, file=sys.stderr, disable=None
            )
        bar["bar"].update(done - bar["bar"].n)

    def close() -> None:
        if "bar" in bar:
            bar["bar"].close()

    return update, close


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pokeviz")
def main() -> None:
    """Plots, a Parquet cache and SQL for Pokémon Red RL training logs.

    \b
    Example:
        pokeviz demo
        pokeviz ingest experiments/v4
        pokeviz sql experiments/v4 "SELECT count(*) FROM files"
    """


@main.command()
@run_options
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: cores].")
@click.option("--rebuild", is_flag=True, help="Read every log file again.")
@click.option("--strict", is_flag=True, help="Exit 1 when any file has a problem.")
@click.option("-v", "--verbose", is_flag=True, help="Per-file detail and tracebacks.")
@fail_cleanly
def ingest(
    run: Path | None,
    variant: str | None,
    experiments_dir: Path,
    jobs: int | None,
    rebuild: bool,
    strict: bool,
    verbose: bool,
) -> None:
    """Bring a run's Parquet cache up to date and print a summary.

    Only new or changed log files are read. RUN is a run directory (the one holding
    json_logs/) or a variant directory (its latest run).

    \b
    Example:
        pokeviz ingest experiments/v4/20260101_000000 --jobs 2
    """
    from .api import ingest as ingest_run
    from .discover import resolve_run
    from .ingest import ijson_backend

    found = resolve_run(run, variant=variant, experiments_dir=experiments_dir)
    if verbose and ijson_backend() != "yajl2_c":
        click.echo(f"note: ijson uses the slow {ijson_backend()} backend (no C extension)")
    update, close = progress_bar("ingest")
    try:
        report = ingest_run(found, jobs=jobs, rebuild=rebuild, progress=update)
    finally:
        close()
    for line in report.lines():
        click.echo(line)
    if verbose:
        for line in report.file_lines():
            click.echo(line)
        echo_peak_memory()
    if strict and any(status != "ok" for _, status, _ in report.update.problems):
        raise click.exceptions.Exit(1)


def _format_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    cells = [["NULL" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


@main.command()
@run_options
@click.argument("query", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
    show_default=True, help="Output format.",
)
@click.option("--schema", is_flag=True, help="List the views and their columns.")
@click.option("--no-update", is_flag=True, help="Query the cache as it is, without ingesting.")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on unexpected failures.")
@fail_cleanly
def sql(
    run: Path | None,
    variant: str | None,
    experiments_dir: Path,
    query: str | None,
    fmt: str,
    schema: bool,
    no_update: bool,
    verbose: bool,
) -> None:
    """Run SQL on a run's views: files, samples, reservoir, positions, tiles, file_stats.

    The cache is brought up to date first. Queries are read-only: they cannot change
    the cache or write files.

    \b
    Example:
        pokeviz sql experiments/v4 "SELECT map, sum(visits) FROM positions GROUP BY 1"
        pokeviz sql experiments/v4 --schema
    """
    from .api import open_run
    from .query import run_sql
    from .query import schema as view_schema

    if variant is not None and run is not None and query is None:
        query, run = str(run), None  # `pokeviz sql --variant v4 "QUERY"`: no RUN given
    if not schema and not query:
        raise click.UsageError("give a QUERY, or --schema to list the views")
    con = open_run(run, variant=variant, experiments_dir=experiments_dir, update=not no_update)
    try:
        if schema:
            for view, columns in view_schema(con).items():
                click.echo(f"{view}(")
                for name, kind in columns:
                    click.echo(f"    {name} {kind}")
                click.echo(")")
            return
        assert query is not None
        columns, rows = run_sql(con, query)
        click.echo(_format_rows(columns, rows, fmt))
    finally:
        con.close()


@main.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--variant", "variants", multiple=True, default=["v4"], show_default=True,
              help="Variant folder name; repeat for several.")
@click.option("--runs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs per variant.")
@click.option("--files", type=click.IntRange(min=1), default=8, show_default=True,
              help="Log files per run.")
@click.option("--envs", type=click.IntRange(min=1), default=4, show_default=True,
              help="Parallel environments (entries per step).")
@click.option("--steps-per-env", type=click.IntRange(min=1), default=256, show_default=True,
              help="Steps per environment per file.")
@click.option("--format", "fmt", type=click.Choice(
    ["flat_legacy", "flat", "nested", "nested_total"]), default="nested_total",
    show_default=True, help="Log format generation.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--no-map-table", is_flag=True, help="Do not write ROOT/map_data.json.")
@fail_cleanly
def synth(
    root: Path,
    variants: tuple[str, ...],
    runs: int,
    files: int,
    envs: int,
    steps_per_env: int,
    fmt: str,
    seed: int,
    no_map_table: bool,
) -> None:
    """Write realistic synthetic runs under ROOT (an experiments folder).

    Same arguments, same bytes. Also writes a small made-up map table,
    ROOT/map_data.json, for the heatmap.

    \b
    Example:
        pokeviz synth experiments --variant v4 --files 40 --envs 16 --steps-per-env 2048
    """
    from .synth import synth_experiments

    made = synth_experiments(
        root, variants=variants, runs=runs, files=files, envs=envs,
        steps_per_env=steps_per_env, fmt=fmt, seed=seed, map_table=not no_map_table,
    )
    for run in made:
        click.echo(f"{run.run_dir}  {len(run.files)} files, {run.total_entries:,} entries")


@main.command()
@run_options
@click.option("--format", "formats", multiple=True, default=("png",), show_default=True,
              callback=lambda ctx, param, values: _split_formats(ctx, param, values),
              help="png, pdf, svg; comma-separated or repeated (e.g. png,pdf).")
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
    re-renders the figures at most once per --debounce-seconds, printing one status
    line per update. Waits if RUN or RUN/json_logs/ does not exist yet. Stop with
    Ctrl-C (exit 130) or SIGTERM (exit 0).

    \b
    Example:
        pokeviz watch experiments/v4/20260101_000000 --debounce-seconds 30
        pokeviz watch /mnt/nfs/experiments/v4 --poll --poll-seconds 5 --format png,pdf
    """
    from .watch import watch_run

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


def comma_choices(
    values: tuple[str, ...], allowed: tuple[str, ...], default: tuple[str, ...]
) -> tuple[str, ...]:
    """``--opt a,b`` and ``--opt a --opt b`` both give (a, b); unknown names are an error."""
    names = [n.strip().lower() for v in values for n in v.split(",") if n.strip()]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise click.BadParameter(
            f"{', '.join(bad)}: use one or more of {', '.join(allowed)} (e.g. {','.join(default)})"
        )
    return tuple(dict.fromkeys(names)) or default


def _split_formats(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """``--format png,pdf`` and ``--format png --format pdf`` both give (png, pdf)."""
    from .plots.style import FORMATS

    return comma_choices(values, FORMATS, ("png",))


def _print_plot_result(result: Any, verbose: bool) -> None:
    """The plot summary; with verbose, per-file lines and peak memory."""

    for line in result.lines():
        click.echo(line)
    if verbose:
        for line in result.file_lines():
            click.echo(line)
        echo_peak_memory()


def plot_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The figure options shared by ``plot`` and ``demo``."""

    @click.option("--format", "formats", multiple=True, default=("png",), show_default=True,
                  callback=_split_formats,
                  help="png, pdf, svg; comma-separated or repeated (e.g. png,pdf).")
    @click.option("--jobs", "-j", type=click.IntRange(min=1),
                  help="Ingest worker processes [default: cores].")
    @click.option("-v", "--verbose", is_flag=True,
                  help="Detail lines (per file; per run for compare), peak memory, "
                  "and tracebacks.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


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
    formats: tuple[str, ...],
    jobs: int | None,
    verbose: bool,
) -> None:
    """Write a run's reward figure and Kanto heatmap (cache updated first).

    Writes {variant}_{timestamp}_rewards.{fmt} and {variant}_{timestamp}_heatmap.{fmt}
    into RUN/plots/ (or --output-dir) at 300 dpi. Same logs, same options: the same
    bytes. Unchanged runs read no log file.

    \b
    Example:
        pokeviz plot experiments/v4 --format png,pdf
        pokeviz plot --variant v4 --map-data ../PokemonRedExperiments/v2/map_data.json
    """
    from .plots import plot_run

    update, close = progress_bar("ingest")
    try:
        result = plot_run(
            run, variant=variant, experiments_dir=experiments_dir, output_dir=output_dir,
            formats=formats, smooth_window=smooth_window, samples=samples, seed=seed,
            map_data=map_data, jobs=jobs, progress=update,
        )
    finally:
        close()
    _print_plot_result(result, verbose)


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
    from .plots import demo_run

    update, close = progress_bar("ingest")
    try:
        result = demo_run(directory, formats=formats, jobs=jobs, progress=update,
                          on_generate=lambda path: click.echo(f"generating synthetic runs "
                                                              f"in {path} ..."))
    finally:
        close()
    _print_plot_result(result, verbose)


def _split_metrics(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """``--metric badges,levels`` and ``--metric badges --metric levels`` are the same."""
    from .plots.compare import DEFAULT_METRICS, METRICS

    return comma_choices(values, METRICS, DEFAULT_METRICS)


@main.command()
@click.argument("variants", nargs=-1, metavar="[VARIANT]...")
@click.option("--experiments-dir", type=click.Path(path_type=Path), default=Path("experiments"),
              show_default=True, help="Where the variant folders live.")
@click.option("--runs", type=click.Choice(["all", "latest"]), default="all", show_default=True,
              help="Every run of each variant (band across them), or only its latest.")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the figures here instead of EXPERIMENTS_DIR/plots/.")
@click.option("--metric", "metrics", multiple=True, callback=_split_metrics,
              help="reward_total, exploration, badges, levels, deaths; comma-separated or "
              "repeated [default: reward_total,exploration].")
@click.option("--map-data", type=click.Path(dir_okay=False, path_type=Path),
              help="map_data.json for global tiles [default: $POKEVIZ_MAP_DATA, else "
              "searched from EXPERIMENTS_DIR upward].")
@plot_options
@fail_cleanly
def compare(
    variants: tuple[str, ...],
    experiments_dir: Path,
    runs: str,
    output_dir: Path | None,
    metrics: tuple[str, ...],
    map_data: Path | None,
    formats: tuple[str, ...],
    jobs: int | None,
    verbose: bool,
) -> None:
    """Compare variants side by side: mean over runs with a 95 % band, game progress.

    VARIANT names folders under --experiments-dir (default: all of them). Each run is
    ingested first (only new or changed log files are read). Writes
    compare_{v1-v2-...}_{metric}.{fmt} and prints a table per variant: runs, entries,
    last global step, final total reward (mean ± 95 % CI over runs), tiles, max badges.

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
    """
    from .plots.compare import compare_variants

    bars: dict[Any, tuple[Callable[[int, int], None], Callable[[], None]]] = {}

    def progress(run: Any, done: int, total: int) -> None:
        if run not in bars:
            bars[run] = progress_bar(f"ingest {run.variant}/{run.timestamp}")
        bars[run][0](done, total)

    try:
        result = compare_variants(
            list(variants) or None, experiments_dir=experiments_dir, runs=runs,
            output_dir=output_dir, formats=formats, metrics=metrics, jobs=jobs,
            map_data=map_data, progress=progress,
        )
    finally:
        for _, close in bars.values():
            close()
    if verbose:
        for line in result.run_lines():
            click.echo(line)
        echo_peak_memory()
    for line in result.lines():
        click.echo(line)
