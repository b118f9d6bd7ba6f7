"""``pokeviz demo``: synthetic runs of four variants, generated once, then plotted and compared."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .discover import variants
from .plots import PlotResult, plot_run
from .synth import synth_experiments

#: What ``pokeviz demo`` generates: two runs of each variant, ~9.7K entries per run (small,
#: so the demo takes seconds and its figures suit the README).
DEMO_VARIANTS = ("v1", "v2", "v3", "v4")
DEMO_RUNS = 2
DEMO_FILES = 10
DEMO_ENVS = 8
DEMO_STEPS_PER_ENV = 128


def demo_run(
    directory: str | Path = "demo",
    *,
    formats: Sequence[str] = ("png",),
    jobs: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
    on_generate: Callable[[Path], Any] | None = None,
) -> PlotResult:
    """Generate synthetic runs once and plot the latest v4 run (``pokeviz demo``).

    Args:
        directory: the demo folder; ``<directory>/experiments`` gets
            :data:`DEMO_RUNS` synthetic runs of each of :data:`DEMO_VARIANTS`
            (:data:`DEMO_FILES` files of :data:`DEMO_ENVS` × :data:`DEMO_STEPS_PER_ENV`
            entries) and its made-up ``map_data.json``, unless it already holds runs.
        formats, jobs, progress: as for :func:`pokeviz.plots.plot_run`.
        on_generate: called with the experiments folder before generating.

    Returns:
        The :class:`~pokeviz.plots.PlotResult` of the latest v4 run; its ``paths`` end
        with the ``pokeviz compare`` figures of all demo variants (in
        ``<directory>/plots/``).

    Raises:
        PokevizError: the folder holds runs but no v4 run.

    Deterministic: the generated logs and the figures are byte-identical on every
    machine with the same library versions.
    """
    experiments = Path(directory) / "experiments"
    if not variants(experiments):
        if on_generate is not None:
            on_generate(experiments)
        synth_experiments(
            experiments, variants=DEMO_VARIANTS, runs=DEMO_RUNS, files=DEMO_FILES,
            envs=DEMO_ENVS, steps_per_env=DEMO_STEPS_PER_ENV,
        )
    table = experiments / "map_data.json"
    result = plot_run(
        variant="v4", experiments_dir=experiments, formats=formats, jobs=jobs,
        progress=progress, map_data=table if table.is_file() else None,
    )

    # Every demo variant side by side (pokeviz compare): its figures go to
    # <directory>/plots/ and are listed after the plot's own files.
    from .plots.compare import compare_variants

    comparison = compare_variants(
        experiments_dir=experiments, output_dir=Path(directory) / "plots", formats=formats,
        jobs=jobs, map_data=table if table.is_file() else None,
    )
    result.paths.extend(comparison.paths)
    result.kept.extend(comparison.kept)
    result.seconds += comparison.seconds
    return result
