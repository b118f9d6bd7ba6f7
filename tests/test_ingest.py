"""ingest: one log file → one FileSummary, every generation and every bad input."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pokeviz import ingest_fast
from pokeviz.ingest import (
    SAMPLES_PER_FILE,
    FileSummary,
    NonFiniteFilter,
    ingest_file,
    looks_complete,
    replace_non_finite,
    sample_indices,
)

from .conftest import nested_entries, nested_entry


def both_paths(path: Path) -> tuple[FileSummary, FileSummary]:
    """The fast-path and the streaming-path summaries of one file."""
    return ingest_file(path), ingest_file(path, fast_path_max_bytes=0)


def assert_same_summary(a: FileSummary, b: FileSummary) -> None:
    for name in ("file", "status", "format", "entries", "bad_values", "skipped_entries",
                 "total_steps", "error", "warning"):
        assert getattr(a, name) == getattr(b, name), name
    assert list(a.samples) == list(b.samples)
    for name in a.samples:
        np.testing.assert_array_equal(a.samples[name], b.samples[name], err_msg=name)
    assert list(a.positions) == list(b.positions)
    for name in a.positions:
        np.testing.assert_array_equal(a.positions[name], b.positions[name], err_msg=name)
    assert a.stats == b.stats


def write(tmp_path: Path, data: str | bytes, name: str = "stats_1.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- sampling -----------------------------------------------------------------------


def max_gap(indices: list[int], n: int) -> int:
    points = [-1, *indices, n]
    return max(b - a for a, b in zip(points, points[1:], strict=False))


def test_sample_indices_count_order_and_spacing() -> None:
    # Every small size (where rounding matters most) and a few real file sizes.
    for n in [*range(0, 1200), 32_768, 65_536, 100_003, 1_310_720]:
        indices = sample_indices(n)
        assert len(indices) == min(SAMPLES_PER_FILE, n), n
        assert indices == sorted(set(indices)), n
        assert all(0 <= i < n for i in indices), n
        if n:
            assert indices[0] == 0, n
            assert max_gap(indices, n) <= 2 * n / 100 + 1, n


@given(st.integers(min_value=0, max_value=10**9))
def test_sample_indices_spacing_bound_holds_for_any_size(n: int) -> None:
    indices = sample_indices(n)
    assert len(indices) == min(SAMPLES_PER_FILE, n)
    if n:
        assert max_gap(indices, n) <= 2 * n / 100 + 1


def test_samples_are_the_sampled_entries(tmp_path: Path) -> None:
    n = 1234
    path = write(tmp_path, json.dumps(nested_entries(n)))
    fast, slow = both_paths(path)
    assert_same_summary(fast, slow)
    assert fast.samples["entry_index"].tolist() == sample_indices(n)
    # nested_entries writes episode step = index.
    assert fast.samples["episode_step"].tolist() == [float(i) for i in sample_indices(n)]


# --- generations ----------------------------------------------------------------------


def legacy(i: int) -> dict:
    return {"step": i, "x": 5, "y": 6, "map": 0, "max_map_progress": 1, "last_action": 3,
            "pcount": 1, "levels": [6, 0, 0, 0, 0, 0], "levels_sum": 6,
            "ptypes": [20, 255, 255, 255, 255, 255], "hp": 0.93, "coord_count": 41,
            "deaths": 0, "badge": 0, "event": 2.0, "healr": 0.5}


def flat(i: int) -> dict:
    comps = {"event": 4.0, "level": 3.0, "heal": 0.0, "badge": 0.0, "explore": 2.6,
             "dead": 0.0, "stuck": -0.2, "op_lvl": 1.5}
    entry = legacy(i) | {"reward_total": 9.4 + i, "reward_step": 0.1, "reward_components": comps}
    entry |= {f"reward_{k}": v for k, v in comps.items()}
    return entry


@pytest.mark.parametrize(
    ("make", "fmt", "indent"),
    [(legacy, "flat_legacy", None), (flat, "flat", None),
     (lambda i: nested_entry(i), "nested", 2),
     (lambda i: nested_entry(i, total_steps=640), "nested_total", 2)],
)
def test_each_generation_maps_to_canonical_fields(tmp_path: Path, make, fmt, indent) -> None:
    path = write(tmp_path, json.dumps([make(i) for i in range(640)], indent=indent))
    fast, slow = both_paths(path)
    assert_same_summary(fast, slow)
    assert (fast.parser, slow.parser) == ("msgspec", "ijson")
    assert fast.status == "ok" and fast.format == fmt and fast.entries == 640
    stats = {row[0]: row for row in fast.stats}
    assert stats["episode_step"][1:4] == (640, 0.0, 639.0)
    assert int(fast.positions["visits"].sum()) == 640
    if fmt == "flat_legacy":
        # Only the event and heal rewards exist; everything else is missing, not 0.
        assert stats["reward_event"][1:3] == (640, 2.0)
        assert stats["reward_heal"][1:3] == (640, 0.5)
        assert "reward_total" not in stats and "reward_level" not in stats
        assert np.isnan(fast.samples["reward_total"]).all()
        assert np.isnan(fast.samples["reward_explore"]).all()
    else:
        assert stats["reward_total"][1] == 640
        assert stats["reward_level"][1:3] == (640, 3.0 if "flat" in fmt else 1.0)
    if fmt == "flat":
        assert stats["reward_op_lvl"][1:3] == (640, 1.5)  # an extra component is kept
        assert "reward_op_lvl" in fast.samples
    assert fast.total_steps == (640 if fmt == "nested_total" else None)


def test_extra_component_only_as_top_level_key(tmp_path: Path) -> None:
    entries = [flat(i) | {"reward_novelty": 0.25} for i in range(300)]
    fast, slow = both_paths(write(tmp_path, json.dumps(entries)))
    assert_same_summary(fast, slow)
    assert {row[0]: row[1] for row in fast.stats}["reward_novelty"] == 300


def test_statistics_are_exact(tmp_path: Path) -> None:
    values = [((i * 37) % 101) / 7 for i in range(20_000)]
    entries = [nested_entry(i, total=v) for i, v in enumerate(values)]
    fast, slow = both_paths(write(tmp_path, json.dumps(entries, indent=2)))
    assert_same_summary(fast, slow)
    _, n, low, high, mean, std = {r[0]: r for r in fast.stats}["reward_total"]
    assert (n, low, high) == (20_000, min(values), max(values))
    assert mean == pytest.approx(np.mean(values), rel=1e-12)
    assert std == pytest.approx(np.std(values, ddof=1), rel=1e-9)


def test_visits_are_exact_per_map_and_tile(tmp_path: Path) -> None:
    entries = nested_entries(10_000)
    fast = ingest_file(write(tmp_path, json.dumps(entries, indent=2)))
    expected: dict[tuple[int, int, int], int] = {}
    for e in entries:
        p = e["position"]
        key = (p["map"], p["x"], p["y"])
        expected[key] = expected.get(key, 0) + 1
    got = {
        (m, x, y): v
        for m, x, y, v in zip(*(fast.positions[k].tolist() for k in ("map", "x", "y", "visits")),
                              strict=True)
    }
    assert got == expected


# --- bad input ------------------------------------------------------------------------


def test_nan_and_infinity_tokens_are_null_and_counted(tmp_path: Path) -> None:
    entries = nested_entries(300)
    entries[3]["rewards"]["total"] = math.nan
    entries[4]["rewards"]["components"]["explore"] = math.inf
    entries[5]["player_status"]["health"] = -math.inf
    entries[6]["note"] = "NaN and -Infinity stay inside strings"
    text = json.dumps(entries, indent=2)
    assert "NaN," in text and "-Infinity" in text
    fast, slow = both_paths(write(tmp_path, text))
    assert_same_summary(fast, slow)
    assert fast.status == "ok" and fast.bad_values == 3 and fast.entries == 300
    stats = {r[0]: r for r in fast.stats}
    assert stats["reward_total"][1] == 299
    assert stats["reward_explore"][1] == 299
    assert stats["health"][1] == 299


def test_non_finite_filter_leaves_strings_alone() -> None:
    data = b'[{"a": NaN, "NaN": "Infinity", "b": -Infinity, "c": "x\\"NaN", "d": Infinity}]'
    out, count = replace_non_finite(data)
    assert count == 3
    assert json.loads(out) == [{"a": None, "NaN": "Infinity", "b": None, "c": 'x"NaN', "d": None}]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["NaN", "Infinity", "-Infinity", "1.5", "null", "[", "]", ",", ":",
                             "1e400", "-2.5e-999", "1e300", "123456789012345678901234",
                             "-9223372036854775809", "9223372036854775807"]),
            st.text(alphabet='ab\\"NaInfty -', max_size=12).map(json.dumps),
        ),
        max_size=40,
    ),
    st.integers(min_value=1, max_value=17),
)
def test_streaming_filter_equals_whole_file_filter(tokens: list[str], chunk: int) -> None:
    data = " ".join(tokens).encode()
    expected, count = replace_non_finite(data)
    stream = NonFiniteFilter(io.BytesIO(data), chunk_bytes=chunk)
    pieces = []
    while piece := stream.read(chunk + 3):
        pieces.append(piece)
    assert b"".join(pieces) == expected
    assert stream.replaced == count


def entry_ends(entries: list[dict]) -> tuple[str, list[int]]:
    """The file text and the offset just after each entry's closing brace."""
    parts, ends, offset = ["["], [], 1
    for i, entry in enumerate(entries):
        text = ("" if i == 0 else ", ") + json.dumps(entry)
        parts.append(text)
        offset += len(text)
        ends.append(offset)
    parts.append("]")
    return "".join(parts), ends


@pytest.mark.parametrize("fraction", [0.0001, 0.1, 0.37, 0.5, 0.81, 0.999])
def test_truncated_file_keeps_exactly_its_complete_entries(tmp_path: Path, fraction) -> None:
    text, ends = entry_ends(nested_entries(500, total_steps=500))
    cut = int(len(text) * fraction)
    fast, slow = both_paths(write(tmp_path, text[:cut]))
    assert_same_summary(fast, slow)
    complete = sum(end <= cut for end in ends)
    assert fast.status == "partial" if complete or cut > 1 else "empty"
    assert fast.entries == complete
    assert "read again" in fast.error


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", "empty", "empty file (0 bytes)"),
        (b"  \n ", "empty", "only white space"),
        (b"[]", "empty", "no entries"),
        (b'{"step": 1}', "error", "top level is a JSON object, not an array"),
        (b"42", "error", "not an array"),
    ],
)
def test_files_without_entries(tmp_path: Path, data: bytes, status: str, message: str) -> None:
    fast, slow = both_paths(write(tmp_path, data))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries) == (status, 0)
    assert message in fast.error


def test_bom_is_skipped_with_a_warning(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(nested_entries(50), indent=2).encode()
    fast, slow = both_paths(write(tmp_path, data))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries, fast.warning) == ("ok", 50, "UTF-8 byte-order mark skipped")


def test_trailing_garbage_keeps_entries_and_is_an_error(tmp_path: Path) -> None:
    text = json.dumps(nested_entries(80)) + "\n{garbage"
    fast, slow = both_paths(write(tmp_path, text))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries) == ("error", 80)
    assert "trailing garbage" in fast.error and "80 complete entries" in fast.error


def test_syntax_error_in_the_middle_keeps_entries_before_it(tmp_path: Path) -> None:
    text, ends = entry_ends(nested_entries(100))
    broken = text[: ends[59]] + ", {]oops" + text[ends[59]:]
    summary = ingest_file(write(tmp_path, broken))
    assert (summary.status, summary.entries) == ("error", 60)
    assert "not valid JSON" in summary.error


def test_non_numeric_values_are_null_and_counted(tmp_path: Path) -> None:
    entries = nested_entries(200)
    entries[0]["rewards"]["total"] = "9.4"
    entries[1]["position"]["x"] = True
    entries[2]["position"]["y"] = 2.5
    entries[3]["rewards"]["components"]["event"] = [1]
    entries[4]["position"] = "nowhere"
    fast, slow = both_paths(write(tmp_path, json.dumps(entries, indent=2)))
    assert_same_summary(fast, slow)
    assert slow.parser == "ijson"  # the fast path rejected the file, as it must
    assert (fast.status, fast.bad_values, fast.entries) == ("ok", 5, 200)
    assert int(fast.positions["visits"].sum()) == 197  # three entries lost a coordinate
    assert {r[0]: r[1] for r in fast.stats}["reward_total"] == 199


def test_entries_that_are_not_objects_are_skipped_and_counted(tmp_path: Path) -> None:
    entries: list = nested_entries(30)
    entries[10:10] = [7, "x", None, [1, 2]]
    fast, slow = both_paths(write(tmp_path, json.dumps(entries)))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries, fast.skipped_entries) == ("ok", 30, 4)
    assert "4 entries are not JSON objects" in fast.warning


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        (b'[{"step": 1}]', True),
        (b'[\n  {\n    "step": 1\n  }\n]', True),
        (b'[\n  {\n    "step": 1\n  }\n]\n\n', True),
        (b"[]", True),
        (b"\xef\xbb\xbf[ ]", True),
        (b'[{"step": 1, "levels": [6, 0]', False),  # cut right after an inner list
        (b'[\n  {\n    "levels": [\n      6\n    ]', False),
        (b'[{"step": 1}, {"st', False),
        (b"]", False),
        (b"", False),
    ],
)
def test_looks_complete(tmp_path: Path, text: bytes, complete: bool) -> None:
    assert looks_complete(write(tmp_path, text)) is complete
    assert looks_complete(tmp_path / "missing.json") is False


def test_file_cut_after_an_inner_list_is_partial_not_an_error(tmp_path: Path) -> None:
    # Ends in "]" like a finished file, but the array is not closed: training is still
    # writing it, so it is read again later rather than reported as broken.
    text, ends = entry_ends([legacy(i) for i in range(20)])
    cut = text[: ends[9]] + ', {"step": 10, "levels": [6, 0]'
    fast, slow = both_paths(write(tmp_path, cut))
    assert_same_summary(fast, slow)
    assert (fast.status, fast.entries) == ("partial", 10)
    assert "read again" in fast.error


def test_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    summary = ingest_file(tmp_path / "stats_404.json")
    assert summary.status == "error" and "vanished" in summary.error


# --- both paths agree on any input ----------------------------------------------------

number = st.one_of(
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(["7", True, None, [1]]),
)


@st.composite
def log_entries(draw: st.DrawFn) -> list:
    generation = draw(st.sampled_from(["legacy", "flat", "nested", "nested_total", "mixed"]))
    out: list = []
    for i in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["legacy", "flat", "nested", "nested_total"])) \
            if generation == "mixed" else generation
        if kind == "legacy":
            entry = legacy(i)
        elif kind == "flat":
            entry = flat(i)
        else:
            entry = nested_entry(i, total_steps=99 if kind == "nested_total" else None)
        if draw(st.booleans()):
            leaf = entry.get("position", entry)
            leaf[draw(st.sampled_from(["x", "y", "map"]))] = draw(number)
        if draw(st.booleans()):
            target = entry["rewards"]["components"] if "rewards" in entry else entry
            target[draw(st.sampled_from(["event", "explore", "op_lvl", "hp"]))] = draw(number)
        if draw(st.integers(0, 9)) == 0:
            entry = draw(st.sampled_from([1, "s", None, []]))
        out.append(entry)
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(entries=log_entries(), indent=st.sampled_from([None, 2]), cut=st.integers(0, 100))
def test_fast_and_streaming_paths_give_identical_summaries(
    tmp_path: Path, entries: list, indent: int | None, cut: int
) -> None:
    text = json.dumps(entries, indent=indent)
    if cut < 20:  # sometimes a truncated file
        text = text[: len(text) * cut // 20]
    path = write(tmp_path, text, "stats_7.json")
    fast, slow = both_paths(path)
    assert_same_summary(fast, slow)


# --- the fast path's slices (pretty-printed files are decoded a few MB at a time) ------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(entries=log_entries(), indent=st.sampled_from([None, 2, 4]), cut=st.integers(0, 100),
       slice_bytes=st.integers(1, 2000))
def test_sliced_fast_path_gives_identical_summaries(
    tmp_path: Path, entries: list, indent: int | None, cut: int, slice_bytes: int
) -> None:
    text = json.dumps(entries, indent=indent)
    if cut < 20:
        text = text[: len(text) * cut // 20]
    path = write(tmp_path, text, "stats_7.json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest_fast, "SLICE_BYTES", slice_bytes)
        fast, slow = both_paths(path)
    assert_same_summary(fast, slow)


def test_pretty_printed_file_is_decoded_in_slices(tmp_path: Path, monkeypatch) -> None:
    entries = nested_entries(3000, total_steps=3000)
    entries[1234]["rewards"]["components"]["op_lvl"] = 2.0  # only in one slice
    entries[2345]["rewards"]["total"] = math.nan
    path = write(tmp_path, json.dumps(entries, indent=2))
    module = ingest_fast
    monkeypatch.setattr(module, "SLICE_BYTES", 50_000)
    with open(path, "rb") as handle:
        pieces = [bytes(piece) for piece in module._slices(handle)]  # views: copy each
    assert len(pieces) > 10
    assert sum(len(json.loads(piece.replace(b"NaN", b"null"))) for piece in pieces) == 3000
    fast, slow = both_paths(path)
    assert (fast.parser, fast.entries, fast.bad_values) == ("msgspec", 3000, 1)
    assert_same_summary(fast, slow)
    assert {r[0]: r[1] for r in fast.stats}["reward_op_lvl"] == 1
