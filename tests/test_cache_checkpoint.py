"""Checkpoint packs: a pooled update killed before its final pack leaves a cache that is
read correctly, keeps every file it had read, and equals a clean update."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pokeviz import cache
from pokeviz.cache import stale_files, update_cache
from pokeviz.discover import resolve_run
from pokeviz.manifest import MANIFEST, SIDECARS
from pokeviz.synth import synth_run

from .test_cache import tables


class Killed(BaseException):
    """Stands for a process killed at the final pack."""


def test_killed_before_the_final_pack_keeps_checkpoints(tmp_path: Path, monkeypatch) -> None:
    made = synth_run(tmp_path, files=8, envs=3, steps_per_env=120, seed=21)
    run = resolve_run(made.run_dir)
    update_cache(run, jobs=1)
    clean = tables(made.run_dir)
    shutil.rmtree(run.cache_dir)

    monkeypatch.setattr(cache, "MANIFEST_WRITE_SECONDS", 0.0)  # a checkpoint per file
    final_pack = cache._Writer.pack

    def killed_at_the_end(self, *, merge: bool) -> None:
        if merge:
            raise Killed
        final_pack(self, merge=merge)

    monkeypatch.setattr(cache._Writer, "pack", killed_at_the_end)
    with pytest.raises(Killed):
        update_cache(run, jobs=2)
    manifest = json.loads((run.cache_dir / MANIFEST).read_text())
    # Every file read is named, each in a checkpoint pack that exists; no loose sidecar.
    assert len(manifest["files"]) == 8
    assert all("pack" in entry and "sidecar" not in entry
               for entry in manifest["files"].values())
    assert sum(manifest["packs"].values()) == 8
    assert all((run.cache_dir / SIDECARS / f"{pack}.stats.parquet").exists()
               for pack in manifest["packs"])
    assert stale_files(run) == []
    assert tables(made.run_dir) == clean

    monkeypatch.setattr(cache._Writer, "pack", final_pack)
    shutil.rmtree(run.cache_dir)
    update = update_cache(run, jobs=2)
    assert len(update.ingested) == 8
    manifest = json.loads((run.cache_dir / MANIFEST).read_text())
    assert list(manifest["packs"].values()) == [8]  # checkpoint packs replaced by one
    assert len(list((run.cache_dir / SIDECARS).iterdir())) == 3
    assert tables(made.run_dir) == clean
