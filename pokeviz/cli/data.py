"""``pokeviz ingest``, ``sql`` and ``synth``: the cache, its SQL, and synthetic runs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from .common import (
    echo_peak_memory,
    executor_for,
    fail_cleanly,
    main,
    progress_bar,
    run_options,
    scheduler_option,
)


@main.command()
@run_options
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: cores].")
@click.option("--rebuild", is_flag=True, help="Read every log file again.")
@click.option("--strict", is_flag=True, help="Exit 1 when any file has a problem.")
@scheduler_option
@click.option("-v", "--verbose", is_flag=True, help="Per-file detail and tracebacks.")
@fail_cleanly
def ingest(
    run: Path | None,
    variant: str | None,
    experiments_dir: Path,
    jobs: int | None,
    rebuild: bool,
    strict: bool,
    scheduler: str | None,
    verbose: bool,
) -> None:
    """Bring a run's Parquet cache up to date and print a summary.

    Only new or changed log files are read. RUN is a run directory (the one holding
    json_logs/) or a variant directory (its latest run).

    \b
    Example:
        pokeviz ingest experiments/v4/20260101_000000 --jobs 2
        pokeviz ingest experiments/v4 --scheduler tcp://10.0.0.5:8786
    """
    from ..api import ingest as ingest_run
    from ..discover import printable, resolve_run
    from ..ingest import ijson_backend

    found = resolve_run(run, variant=variant, experiments_dir=experiments_dir)
    if verbose and ijson_backend() != "yajl2_c":
        click.echo(f"note: ijson uses the slow {ijson_backend()} backend (no C extension)")
    update, close = progress_bar("ingest")
    try:
        with executor_for(scheduler) as executor:
            report = ingest_run(found, jobs=jobs, rebuild=rebuild, progress=update,
                                executor=executor)
    finally:
        close()
    for line in report.lines():
        click.echo(printable(line))
    if verbose:
        for line in report.file_lines():
            click.echo(printable(line))
        echo_peak_memory()
    if strict and any(status != "ok" for _, status, _ in report.update.problems):
        raise click.exceptions.Exit(1)


def _cells(row: tuple[Any, ...]) -> list[str]:
    return ["NULL" if v is None else str(v) for v in row]


def _table(columns: list[str], rows: list[tuple[Any, ...]], truncated: bool) -> str:
    cells = [_cells(row) for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    if truncated:
        lines.append(f"(first {len(rows):,} rows shown; add a LIMIT, raise --max-rows, or use "
                     "--format csv or json for every row)")
    else:
        lines.append(f"({len(rows):,} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def _echo_stream(columns: list[str], batches: Iterable[list[tuple[Any, ...]]], fmt: str) -> None:
    """CSV or JSON, one batch at a time: memory holds one batch, whatever the answer."""
    from ..query import json_value

    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for batch in batches:
            writer.writerows(batch)
            click.echo(out.getvalue(), nl=False)
            out.seek(0)
            out.truncate()
        click.echo(out.getvalue(), nl=False)
        return
    click.echo("[", nl=False)
    first = True
    for batch in batches:
        items = [
            json.dumps({c: json_value(v) for c, v in zip(columns, row, strict=True)},
                       default=str, allow_nan=False)
            for row in batch
        ]
        click.echo(("" if first else ", ") + ", ".join(items), nl=False)
        first = False
    click.echo("]")


def _echo_schema(views: dict[str, list[tuple[str, str]]], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(
            {v: [{"column": c, "type": t} for c, t in cols] for v, cols in views.items()}
        ))
    elif fmt == "csv":
        _echo_stream(["view", "column", "type"],
                     [[(v, c, t) for v, cols in views.items() for c, t in cols]], "csv")
    else:
        for name, columns in views.items():
            click.echo(f"{name}(")
            for column, kind in columns:
                click.echo(f"    {column} {kind}")
            click.echo(")")


@main.command()
@run_options
@click.argument("query", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
    show_default=True, help="Output format (csv and json stream every row).",
)
@click.option("--max-rows", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Rows shown in table format (csv and json are not capped).")
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
    max_rows: int,
    schema: bool,
    no_update: bool,
    verbose: bool,
) -> None:
    """Run SQL on a run's views: files, samples, reservoir, positions, tiles, file_stats.

    The cache is brought up to date first. Queries are read-only: they cannot change
    the cache, and cannot read or write any file.

    \b
    Example:
        pokeviz sql experiments/v4 "SELECT map, sum(visits) FROM positions GROUP BY 1"
        pokeviz sql experiments/v4 --schema --format json
    """
    from ..api import open_run
    from ..discover import printable
    from ..query import run_sql, stream_sql
    from ..query import schema as view_schema

    if variant is not None and run is not None and query is None:
        query, run = str(run), None  # `pokeviz sql --variant v4 "QUERY"`: no RUN given
    if schema and query:
        raise click.UsageError("--schema lists the views and takes no QUERY; drop one of them")
    if not schema and not query:
        if run is not None and not run.exists():
            raise click.UsageError(
                "RUN is missing: give the run (or variant) directory before the QUERY, "
                'e.g. pokeviz sql experiments/v4 "SELECT count(*) FROM files"'
            )
        raise click.UsageError("give a QUERY after RUN, or --schema to list the views")
    with open_run(
        run, variant=variant, experiments_dir=experiments_dir, update=not no_update
    ) as view:
        for note in view.update.notes:
            click.echo(printable(f"note: {note}"), err=True)
        if schema:
            _echo_schema(view_schema(view.con), fmt)
            return
        assert query is not None
        if fmt == "table":
            columns, rows, truncated = run_sql(view.con, query, max_rows=max_rows)
            click.echo(_table(columns, rows, truncated))
        else:
            columns, batches = stream_sql(view.con, query)
            _echo_stream(columns, batches, fmt)


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
@click.option("--map-scale", type=click.FloatRange(1.0, 2.2), default=1.0, show_default=True,
              help="Every map S times wider and taller: the same maps with about S² as "
              "many tiles, in the same 436 x 444 region (the map table is scaled too).")
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
    map_scale: float,
    explore: float,
) -> None:
    """Write realistic synthetic runs under ROOT (an experiments folder).

    Same arguments, same bytes. Also writes a small made-up map table,
    ROOT/map_data.json, for the heatmap.

    \b
    Example:
        pokeviz synth experiments --variant v4 --files 40 --envs 16 --steps-per-env 2048
        pokeviz synth bench --files 40 --envs 16 --steps-per-env 2048 --map-scale 2.2 --explore 0.3
    """
    from ..synth import synth_experiments

    made = synth_experiments(
        root, variants=variants, runs=runs, files=files, envs=envs,
        steps_per_env=steps_per_env, fmt=fmt, seed=seed, map_table=not no_map_table,
        map_scale=map_scale, explore=explore,
    )
    for run in made:
        click.echo(f"{run.run_dir}  {len(run.files)} files, {run.total_entries:,} entries")
