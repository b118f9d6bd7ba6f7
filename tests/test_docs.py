"""The docs a user reads match the code: cache contract, view SQL, README commands."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pyarrow.parquet as pq

from pokeviz.cache import SIDECARS, update_cache
from pokeviz.cli import main
from pokeviz.discover import resolve_run
from pokeviz.query import print_views_sql
from pokeviz.synth import synth_run

ROOT = Path(__file__).resolve().parent.parent


def test_cache_views_sql_is_up_to_date() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_views_sql()
    assert (ROOT / "cache" / "views.sql").read_text() == out.getvalue(), "run `make cache-docs`"


def test_every_sidecar_column_is_documented(tmp_path: Path) -> None:
    made = synth_run(tmp_path, files=1, envs=2, steps_per_env=20)
    run = resolve_run(made.run_dir)
    update_cache(run)
    doc = (ROOT / "cache" / "README.md").read_text()
    for path in (run.cache_dir / SIDECARS).iterdir():
        for column in pq.read_schema(path).names:
            assert f"`{column}`" in doc, f"{column} ({path.name}) is not in cache/README.md"


def test_readme_documents_every_command_and_option() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert re.search(rf"pokeviz {name}\b", readme), f"README lacks `pokeviz {name}`"
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option != "--help":
                    assert option in readme, f"README lacks {option} of `pokeviz {name}`"
