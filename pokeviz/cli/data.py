"""``pokeviz ingest``, ``sql`` and ``synth``: the cache, its SQL, and synthetic runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from .common import echo_peak_memory, fail_cleanly, main, progress_bar, run_options


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
    from ..api import ingest as ingest_run
    from ..discover import resolve_run
    from ..ingest import ijson_backend

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
    from ..api import open_run
    from ..query import run_sql
    from ..query import schema as view_schema

    if variant is not None and run is not None and query is None:
        query, run = str(run), None  # `pokeviz sql --variant v4 "QUERY"`: no RUN given
    if not schema and not query:
        raise click.UsageError("give a QUERY, or --schema to list the views")
    with open_run(
        run, variant=variant, experiments_dir=experiments_dir, update=not no_update
    ) as view:
        if schema:
            for name, columns in view_schema(view.con).items():
                click.echo(f"{name}(")
                for column, kind in columns:
                    click.echo(f"    {column} {kind}")
                click.echo(")")
            return
        assert query is not None
        columns, rows = run_sql(view.con, query)
        click.echo(_format_rows(columns, rows, fmt))


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
@click.option("--map-scale", type=click.IntRange(1, 8), default=1, show_default=True,
              help="Every map K times wider and taller: the same maps with K² as many "
              "tiles (the map table is scaled too).")
@click.option("--explore", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True,
              help="Chance that an agent first walks to a random tile of a map before "
              "heading on: visits spread over more tiles.")
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
    map_scale: int,
    explore: float,
) -> None:
    """Write realistic synthetic runs under ROOT (an experiments folder).

    Same arguments, same bytes. Also writes a small made-up map table,
    ROOT/map_data.json, for the heatmap.

    \b
    Example:
        pokeviz synth experiments --variant v4 --files 40 --envs 16 --steps-per-env 2048
        pokeviz synth bench --files 40 --envs 16 --steps-per-env 2048 --map-scale 3 --explore 0.2
    """
    from ..synth import synth_experiments

    made = synth_experiments(
        root, variants=variants, runs=runs, files=files, envs=envs,
        steps_per_env=steps_per_env, fmt=fmt, seed=seed, map_table=not no_map_table,
        map_scale=map_scale, explore=explore,
    )
    for run in made:
        click.echo(f"{run.run_dir}  {len(run.files)} files, {run.total_entries:,} entries")
