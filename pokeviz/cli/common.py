"""What every ``pokeviz`` command shares: the group, run options, errors, progress bars."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..errors import PokevizError


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
    """Turn a PokevizError into ``Error: …`` and exit 1; with -v, show tracebacks.

    A closed pipe (``pokeviz sql … | head``) ends the command quietly, like any Unix tool.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PokevizError as exc:
            raise click.ClickException(str(exc)) from exc
        except BrokenPipeError:
            quiet_broken_pipe()
            raise click.exceptions.Exit(0) from None
        except (KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:
            if kwargs.get("verbose"):
                traceback.print_exc()
                hint = ""
            else:
                hint = " (run again with -v for the traceback)"
            raise click.ClickException(f"unexpected {type(exc).__name__}: {exc}{hint}") from exc

    return wrapper


def quiet_broken_pipe() -> None:
    """After the reader of stdout went away: point stdout at /dev/null so that the
    interpreter's final flush does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
    # A file or folder name that is not valid UTF-8 is printed escaped (\udcff → \xff
    # style), never as a UnicodeEncodeError that hides the rest of the output.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


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


def split_formats(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """``--format png,pdf`` and ``--format png --format pdf`` both give (png, pdf)."""
    from ..plots.style import FORMATS

    return comma_choices(values, FORMATS, ("png",))


def print_plot_result(result: Any, verbose: bool) -> None:
    """The plot summary; with verbose, per-file lines and peak memory."""

    for line in result.lines():
        click.echo(line)
    if verbose:
        for line in result.file_lines():
            click.echo(line)
        echo_peak_memory()


def plot_options(
    func: Callable[..., Any] | None = None, *, detail: str = "Per-file"
) -> Any:
    """The figure options shared by ``plot``, ``demo`` and ``compare``.

    Use as ``@plot_options``, or ``@plot_options(detail="Per-run")`` to say what ``-v``
    prints.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @click.option("--format", "formats", multiple=True, default=("png",),
                      show_default=True, callback=split_formats,
                      help="png, pdf, svg, html; comma-separated or repeated (e.g. png,pdf).")
        @ingest_options(detail=detail)
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return decorate(func) if func is not None else decorate


def ingest_options(
    func: Callable[..., Any] | None = None, *, detail: str = "Per-file"
) -> Any:
    """``--jobs/-j`` and ``-v/--verbose`` of the commands that ingest a run and write a file
    (``plot``, ``demo``, ``compare``, ``report``, ``animate``).

    Use as ``@ingest_options``, or ``@ingest_options(detail="Per-run")`` to say what ``-v``
    prints.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @click.option("--jobs", "-j", type=click.IntRange(min=1),
                      help="Ingest worker processes [default: cores].")
        @click.option("-v", "--verbose", is_flag=True,
                      help=f"{detail} detail lines, peak memory, and tracebacks.")
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return decorate(func) if func is not None else decorate


#: ``--scheduler``: the ingest of ``ingest``, ``compare`` and ``stats`` on a Dask cluster.
scheduler_option = click.option(
    "--scheduler", metavar="ADDRESS",
    help="Read the log files on a Dask cluster: tcp://HOST:PORT, a scheduler file, or "
    "local:N (N local worker processes); one cluster serves every run. Needs "
    "pokeviz[cluster].")


@contextlib.contextmanager
def executor_for(scheduler: str | None) -> Iterator[Any]:
    """The Dask executor ``--scheduler`` names (closed after), or None for local reads."""
    if scheduler is None:
        yield None
        return
    from ..cluster import cluster_executor

    with cluster_executor(scheduler) as executor:
        yield executor


@contextlib.contextmanager
def run_progress_bars() -> Iterator[Callable[[Any, int, int], None]]:
    """A ``progress(run, done_bytes, total_bytes)`` with one bar per run being ingested
    (``compare``, ``stats``); every bar is closed at the end."""
    bars: dict[Any, tuple[Callable[[int, int], None], Callable[[], None]]] = {}

    def progress(run: Any, done: int, total: int) -> None:
        if run not in bars:
            bars[run] = progress_bar(f"ingest {run.variant}/{run.timestamp}")
        bars[run][0](done, total)

    try:
        yield progress
    finally:
        for _, close in bars.values():
            close()


def variants_options(runs_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``[VARIANT]...``, ``--experiments-dir`` and ``--runs`` of ``compare`` and ``stats``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @click.argument("variants", nargs=-1, metavar="[VARIANT]...")
        @click.option("--experiments-dir", type=click.Path(path_type=Path),
                      default=Path("experiments"), show_default=True,
                      help="Where the variant folders live.")
        @click.option("--runs", type=click.Choice(["all", "latest"]), default="all",
                      show_default=True, help=runs_help)
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return decorate
