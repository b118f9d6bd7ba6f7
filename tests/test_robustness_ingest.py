"""ingest under hostile input: deep nesting, numbers out of range, huge floats, odd files.

Each test reproduces one way a single file could abort or stall a whole run, eat the
machine's memory, or drop valid entries, and checks that the file gets a status row
while every valid entry is kept.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from functools import reduce
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pokeviz.depth import MAX_DEPTH, DepthScanner, TooDeep
from pokeviz.ingest import ingest_file, looks_complete

from .conftest import nested_entries
from .test_ingest import assert_same_summary, both_paths, legacy, write

#: Address-space limit of the subprocesses that parse hostile files (numpy, msgspec and
#: ijson loaded take ~0.4 GB of it): a regression fails there instead of eating the machine.
MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024


def run_limited(code: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python under :data:`MEMORY_LIMIT_BYTES`."""
    prelude = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT_BYTES}, {MEMORY_LIMIT_BYTES}))
        """
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )


# --- nesting depth ----------------------------------------------------------------------


@pytest.mark.parametrize("levels", [1_000, 30_000, 100_000])
@pytest.mark.parametrize("where", ["bare", "in_entry"])
def test_deep_nesting_is_an_error_with_bounded_memory(
    tmp_path: Path, levels: int, where: str
) -> None:
    if where == "bare":
        data = b"[" * levels + b"]" * levels
    else:  # an unread field of an otherwise valid entry, between valid entries
        deep = b"[" * levels + b"1" + b"]" * levels
        entries = [json.dumps(e).encode() for e in nested_entries(3)]
        data = b"[" + entries[0] + b", " + entries[1][:-1] + b', "extra": ' + deep + b"}, "
        data += entries[2] + b"]"
    path = write(tmp_path, data)
    result = run_limited(
        f"""
        from pokeviz.ingest import ingest_file
        for limit in (256 * 1024 * 1024, 0):
            s = ingest_file({str(path)!r}, fast_path_max_bytes=limit)
            print(s.status, s.entries, s.error)
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:  # fast path, then streaming path
        assert line.startswith("error 0 ") and "nested deeper than 64 levels" in line, line


def nested_at(depth: int) -> bytes:
    """A valid file whose deepest value sits ``depth`` levels down (the array is level 1)."""
    inner = b"[" * (depth - 2) + b"7" + b"]" * (depth - 2)
    return b'[{"step": 1, "x": 1, "y": 2, "map": 3, "junk": ' + inner + b"}]"


def test_depth_limit_is_exactly_64_levels(tmp_path: Path) -> None:
    fast, slow = both_paths(write(tmp_path, nested_at(64), "stats_1.json"))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries) == ("ok", 1)
    fast, slow = both_paths(write(tmp_path, nested_at(65), "stats_2.json"))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries) == ("error", 0)
    assert "nested deeper than 64 levels" in fast.error


def test_brackets_inside_strings_do_not_count_as_depth(tmp_path: Path) -> None:
    entries = nested_entries(40)
    entries[5]["note"] = "[" * 200 + '\\"{{' + "]" * 3
    entries[6]["note"] = "\\" * 7 + '"[[[['
    fast, slow = both_paths(write(tmp_path, json.dumps(entries, indent=2)))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries) == ("ok", 40)


# --- numbers beyond float64 / int64 -------------------------------------------------------


def test_float_out_of_range_is_null_and_counted_and_the_entry_kept(tmp_path: Path) -> None:
    entries = nested_entries(2048)
    entries[11]["rewards"]["total"] = "HERE"
    text = json.dumps(entries, indent=2).replace('"HERE"', "1e400")
    fast, slow = both_paths(write(tmp_path, text))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries, fast.bad_values) == ("ok", 2048, 1)
    assert {r[0]: r[1] for r in fast.stats}["reward_total"] == 2047


@pytest.mark.parametrize("value", [2**63, 2**70, -(2**64), 10**400])
def test_integer_beyond_int64_is_null_and_counted_and_the_tile_not_counted(
    tmp_path: Path, value: int
) -> None:
    entries = [legacy(i) for i in range(500)]
    entries[200]["x"] = value
    fast, slow = both_paths(write(tmp_path, json.dumps(entries)))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries, fast.bad_values) == ("ok", 500, 1)
    assert int(fast.positions["visits"].sum()) == 499  # x is NULL: no tile for that entry
    assert {r[0]: r[1] for r in fast.stats}["episode_step"] == 500


def test_out_of_range_numbers_in_unread_fields_are_ignored(tmp_path: Path) -> None:
    entries = [legacy(i) for i in range(300)]
    text = json.dumps(entries)
    text = text.replace('"levels": [6, 0, 0, 0, 0, 0]', f'"levels": [1e999, {2**80}]', 1)
    text = text.replace('"pcount": 1', '"pcount": 1, "note": -1e999', 1)
    fast, slow = both_paths(write(tmp_path, text))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries, fast.bad_values) == ("ok", 300, 0)


# --- statistics of huge finite floats -------------------------------------------------------


@pytest.mark.parametrize("indent", [None, 2])
def test_statistics_of_huge_floats_are_finite_and_exact(tmp_path: Path, indent) -> None:
    entries = nested_entries(10_000)
    big = [1e308 if i % 2 else 0.5e308 for i in range(10_000)]
    for entry, value in zip(entries, big, strict=True):
        entry["rewards"]["total"] = value
    fast, slow = both_paths(write(tmp_path, json.dumps(entries, indent=indent)))
    assert_same_summary(fast, slow)
    _, n, low, high, mean, std = {r[0]: r for r in fast.stats}["reward_total"]
    assert (n, low, high) == (10_000, 0.5e308, 1e308)
    expected = np.array(big) / 1e300
    assert mean == pytest.approx(float(expected.mean()) * 1e300, rel=1e-12)
    assert std == pytest.approx(float(expected.std(ddof=1)) * 1e300, rel=1e-9)


def test_statistics_of_ordinary_values_are_unchanged(tmp_path: Path) -> None:
    # Scaling must not touch ordinary values: the same bits as the plain block formula.
    values = [((i * 37) % 101) / 7 for i in range(300)]
    entries = nested_entries(300)
    for entry, value in zip(entries, values, strict=True):
        entry["rewards"]["total"] = value
    summary = ingest_file(write(tmp_path, json.dumps(entries, indent=2)))
    _, n, _, _, mean, _ = {r[0]: r for r in summary.stats}["reward_total"]
    array = np.array(values)
    assert mean == float(array.sum()) / n


# --- files that are not regular files -------------------------------------------------------


def test_fifo_named_like_a_log_gets_a_status_row_and_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "stats_5.json"
    os.mkfifo(fifo)
    result = run_limited(
        f"""
        from pokeviz.ingest import ingest_file, looks_complete
        s = ingest_file({str(fifo)!r})
        print(s.status, "|", s.error, "|", looks_complete({str(fifo)!r}))
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    status, error, complete = (part.strip() for part in result.stdout.split("|"))
    assert (status, complete) == ("error", "False")
    assert "not a regular file" in error


def test_directory_and_socket_named_like_logs_get_a_status_row(tmp_path: Path) -> None:
    folder = tmp_path / "stats_6.json"
    folder.mkdir()
    short = Path("/tmp") / f"pokeviz-test-{os.getpid()}"
    short.mkdir(exist_ok=True)
    sock_path = short / "stats_7.json"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(sock_path))
        for path in (folder, sock_path):
            summary = ingest_file(path)
            assert summary.status == "error" and "not a regular file" in summary.error, path
            assert looks_complete(path) is False
    finally:
        server.close()
        sock_path.unlink(missing_ok=True)
        short.rmdir()


def test_vanished_file_is_reported_as_vanished(tmp_path: Path) -> None:
    summary = ingest_file(tmp_path / "stats_404.json")
    assert summary.status == "error"
    assert "vanished" in summary.error and "permission" not in summary.error


def test_unreadable_file_still_says_check_permissions(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root reads any file: make it unopenable another way
        path = tmp_path / "stats_403.json"
        path.symlink_to(path)  # a symlink loop: "Too many levels of symbolic links"
        summary = ingest_file(path)
        assert summary.status == "error" and "cannot open" in summary.error
        return
    path = write(tmp_path, b"[]", "stats_403.json")
    path.chmod(0)
    summary = ingest_file(path)
    assert summary.status == "error" and "check permissions" in summary.error


# --- the NaN pre-filter in O(chunk) memory ----------------------------------------------


def test_one_nan_in_a_big_compact_file_costs_no_extra_memory(tmp_path: Path) -> None:
    clean, dirty = tmp_path / "stats_1.json", tmp_path / "stats_2.json"
    entries = [legacy(i) | {"x": i % 40, "note": "padding " * 40} for i in range(90_000)]
    text = json.dumps(entries)
    del entries
    clean.write_text(text)
    dirty.write_text(text.replace('"hp": 0.93', '"hp": NaN', 1))
    del text
    assert clean.stat().st_size > 50_000_000
    peaks = {}
    for name, path in (("clean", clean), ("dirty", dirty)):
        # A fresh process per file, so each peak is that file's own.
        result = run_limited(
            f"""
            import resource
            from pokeviz.ingest import ingest_file
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            s = ingest_file({str(path)!r})
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(s.status, s.entries, s.bad_values, s.parser, (peak - base) // 1024)
            """
        )
        assert result.returncode == 0, result.stderr[-2000:]
        status, count, bad, parser, peak = result.stdout.split()
        assert (status, count, parser) == ("ok", "90000", "msgspec"), name
        assert bad == ("1" if name == "dirty" else "0"), name
        peaks[name] = int(peak)
    # Neither path may hold the 50+ MB file whole, let alone a piece per string token.
    assert peaks["dirty"] <= peaks["clean"] + 32, peaks
    assert peaks["clean"] <= 48, peaks


# --- the depth scanner against a reference ------------------------------------------------

json_values = st.recursive(
    st.one_of(st.integers(), st.text(alphabet='ab[]{}"\\', max_size=6)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(alphabet='k[{"\\', max_size=3),
                                                     inner, max_size=3)
    ),
    max_leaves=12,
)


def reference_depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(0, 70), st.integers(1, 40))
def test_depth_scanner_agrees_with_the_parsed_depth(value, wrap: int, chunk: int) -> None:
    value = reduce(lambda v, _: [v], range(wrap), value)
    text = json.dumps(value).encode()
    scanner = DepthScanner()
    try:
        for start in range(0, len(text), chunk):
            scanner.feed(text[start : start + chunk])
    except TooDeep:
        assert reference_depth(value) > MAX_DEPTH
    else:
        assert reference_depth(value) <= MAX_DEPTH and scanner.depth == 0
