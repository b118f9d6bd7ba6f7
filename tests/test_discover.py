"""discover: runs, their order, the latest run, and the log files of a run in file order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pokeviz.discover import (
    Run,
    file_order_key,
    file_seconds,
    is_run,
    latest_run,
    list_log_files,
    resolve_run,
    runs_of_variant,
    variants,
)
from pokeviz.errors import NoLogFilesError, RunNotFoundError


def make_run(variant: Path, name: str, logs: tuple[str, ...] = ()) -> Path:
    """A run folder with empty log files of the given names."""
    logs_dir = variant / name / "json_logs"
    logs_dir.mkdir(parents=True)
    for log in logs:
        (logs_dir / log).write_text("[]")
    return variant / name


def test_file_order_is_the_unix_seconds_then_the_name() -> None:
    names = ["stats_final_30.json", "stats_foo.json", "stats_20.json", "stats_3.json",
             "stats_20a.json"]
    assert sorted(names, key=file_order_key) == [
        "stats_3.json", "stats_20.json", "stats_final_30.json", "stats_20a.json",
        "stats_foo.json",
    ]
    assert file_seconds("stats_final_1767225600.json") == 1767225600
    assert file_seconds("stats_x.json") is None


def test_any_folder_holding_json_logs_is_a_run(tmp_path: Path) -> None:
    v4 = tmp_path / "v4"
    make_run(v4, "20260101_000000")
    make_run(v4, "run_seed1", ("stats_1900000000.json",))
    (v4 / "20270101_000000" / "plots" / ".cache").mkdir(parents=True)  # logs deleted
    (v4 / "notes").mkdir()
    assert is_run(v4 / "run_seed1") and not is_run(v4 / "20270101_000000")
    # Timestamp names by time; other names by their newest log file (2030 here).
    assert [r.path.name for r in runs_of_variant(v4)] == ["20260101_000000", "run_seed1"]
    assert latest_run(v4) == Run(v4 / "run_seed1")
    assert latest_run(tmp_path / "v9") is None
    assert variants(tmp_path) == [v4]


def test_names_that_are_not_timestamps_order_by_their_newest_log(tmp_path: Path) -> None:
    v1 = tmp_path / "v1"
    make_run(v1, "seed_b", ("stats_100.json", "stats_300.json"))
    make_run(v1, "seed_a", ("stats_200.json",))
    empty = make_run(v1, "2026-01-01_12-00-00")
    os.utime(empty / "json_logs", (50, 50))  # no log yet: its folder's mtime places it
    assert [r.path.name for r in runs_of_variant(v1)] == [
        "2026-01-01_12-00-00", "seed_a", "seed_b",
    ]
    assert resolve_run(v1) == Run((v1 / "seed_b").resolve())


def test_log_files_in_file_order_with_fifos_listed_and_folders_not(tmp_path: Path) -> None:
    run = Run(make_run(tmp_path / "v4", "r", ("stats_20.json", "stats_3.json", "notes.json")))
    os.mkfifo(run.logs_dir / "stats_10.json")
    (run.logs_dir / "stats_5.json").mkdir()
    assert [p.name for p in list_log_files(run)] == [
        "stats_3.json", "stats_10.json", "stats_20.json",
    ]


def test_a_listing_failure_is_an_error_never_no_files(tmp_path: Path) -> None:
    run = Run(make_run(tmp_path / "v4", "r", ("stats_1.json",)))
    with pytest.raises(NoLogFilesError, match="no json_logs/ folder"):
        list_log_files(Run(tmp_path / "v4" / "missing"))
    run.logs_dir.chmod(0)
    try:
        if os.access(run.logs_dir, os.R_OK):  # root reads anything: swap in a file instead
            run.logs_dir.chmod(0o755)
            (run.path / "json_logs").rename(run.path / "old")
            (run.path / "json_logs").write_text("")
            with pytest.raises(NoLogFilesError, match="not a folder"):
                list_log_files(run)
        else:
            with pytest.raises(NoLogFilesError, match="cannot be listed .*check its permissions"):
                list_log_files(run)
    finally:
        if run.logs_dir.is_dir():
            run.logs_dir.chmod(0o755)


def test_resolve_run_errors_name_the_path_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError, match="no run given"):
        resolve_run()
    with pytest.raises(RunNotFoundError, match=f"{tmp_path / 'nope'}: no such directory"):
        resolve_run(tmp_path / "nope")
    with pytest.raises(RunNotFoundError, match="no such variant folder"):
        resolve_run(variant="v7", experiments_dir=tmp_path)
    (tmp_path / "v2").mkdir()
    with pytest.raises(NoLogFilesError, match="no run folders"):
        resolve_run(tmp_path / "v2")
    make_run(tmp_path / "v3", "20260101_000000")
    with pytest.raises(NoLogFilesError, match="no stats_.*has training written a rollout"):
        resolve_run(variant="v3", experiments_dir=tmp_path)
    assert resolve_run(tmp_path / "v3", require_logs=False).path.name == "20260101_000000"
