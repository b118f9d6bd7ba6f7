"""pokeviz report and compare --report: pages, text checked with poppler, exact numbers, bytes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import pokeviz
from pokeviz.cli import main
from pokeviz.report_pages import Table, table_pages, wrap_to
from pokeviz.stats.intervals import half_width
from pokeviz.synth import synth_run, write_map_table

from .conftest import deep_root

pytestmark = pytest.mark.usefixtures("no_map_table_from_the_environment")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 and v4 with two runs each, a map table, and one broken log file in a v4 run."""
    root = deep_root(tmp_path_factory.mktemp("report"))
    for variant in ("v1", "v4"):
        synth_run(root, variant=variant, timestamp="20260101_000000", files=4, envs=2,
                  steps_per_env=40, seed=1)
        synth_run(root, variant=variant, timestamp="20260102_000000", files=5, envs=2,
                  steps_per_env=40, seed=2, start_seconds=1767312000)
    broken = root / "v4" / "20260102_000000" / "json_logs" / "stats_1767999999.json"
    broken.write_text('{"not": "an array"}')
    write_map_table(root / "map_data.json")
    return root


def invoke(*args: object) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines()
                    if line.startswith("Pages:")))


def sql(run: Path, query: str) -> list[tuple]:
    return pokeviz.sql(run, query, update=False)[1]


# ---------------------------------------------------------------------------
# pokeviz report


def test_report_pages_text_and_bytes(root: Path) -> None:
    run = root / "v4" / "20260102_000000"
    out = invoke("report", run, "--map-data", root / "map_data.json", "--jobs", 1)
    path = run / "plots" / "v4_20260102_000000_report.pdf"
    assert f"wrote    {path}" in out
    pages = pdf_pages(path)
    assert pages >= 5 and f"report   {pages} pages" in out
    text = pdf_text(path)
    (entries, files, first, last), = sql(
        run, "SELECT sum(entries), count(*), min(first_global_step), max(last_global_step) "
        "FROM files")
    assert "20260102_000000" in text and "v4" in text
    assert f"{entries:,}" in text
    assert f"{first:,} … {last:,}" in text
    assert "2026-01-02 00:00:00" in text  # the run name as a date
    assert "stats_1767999999.json" in text and "error" in text  # the problems table
    reservoir, = sql(run, "SELECT count(*) FROM reservoir")[0]
    assert f"{reservoir / entries:.2%}" in text
    # The figures are vector pages with their own titles.
    assert "reward per episode so far" in text and "visits per tile" in text
    first_bytes = path.read_bytes()
    assert first_bytes.startswith(b"%PDF") and b"CreationDate" not in first_bytes
    invoke("report", run, "--map-data", root / "map_data.json")
    assert path.read_bytes() == first_bytes


def test_component_table_holds_the_final_files_exact_statistics(root: Path,
                                                                tmp_path: Path) -> None:
    run = root / "v1" / "20260101_000000"
    invoke("report", run, "--map-data", root / "map_data.json", "--output-dir", tmp_path)
    text = pdf_text(tmp_path / "v1_20260101_000000_report.pdf")
    rows = sql(run, "SELECT metric, file, mean, min, max FROM file_stats WHERE metric IN "
               "('reward_total', 'reward_event', 'reward_explore') AND file = (SELECT file "
               "FROM files ORDER BY file_order DESC LIMIT 1) ORDER BY metric")
    assert len(rows) == 3
    lines = text.splitlines()
    for metric, file, mean, low, high in rows:
        label = metric.removeprefix("reward_")
        line = next(li for li in lines if li.split()[:1] == [label] and file in li)
        assert line.split()[-3:] == [f"{mean:,.3f}", f"{low:,.3f}", f"{high:,.3f}"]


def test_milestones_are_the_first_global_step_of_each_map(root: Path, tmp_path: Path) -> None:
    from pokeviz.kanto import load_map_table

    run = root / "v1" / "20260102_000000"
    invoke("report", run, "--map-data", root / "map_data.json", "--output-dir", tmp_path)
    text = pdf_text(tmp_path / "v1_20260102_000000_report.pdf")
    table = load_map_table(root / "map_data.json")
    first = sql(run, "SELECT map, min(first_global_step) FROM tiles GROUP BY map ORDER BY 2, 1")
    lines = text.splitlines()
    for map_id, step in first:
        name = table.maps[map_id].name if map_id in table.maps else None
        assert any(li.split()[:2] == ["map", str(map_id)] and f"{step:,}" in li
                   and (name is None or name in li) for li in lines), (map_id, step)


def test_report_of_a_missing_run_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1


def test_a_run_without_entries_still_reports_and_says_why(make_run, tmp_path: Path) -> None:
    run = make_run({"stats_1.json": "[]", "stats_2.json": '[{"step": 1, "position": {"x'})
    out = invoke("report", run, "--output-dir", tmp_path)
    path = tmp_path / "v4_20260101_000000_report.pdf"
    assert f"wrote    {path}" in out and pdf_pages(path) >= 3
    text = pdf_text(path)
    assert "no reward values in these logs" in text and "no entries yet" in text
    assert re.search(r"stats_1\.json\s+empty", text) and re.search(r"stats_2\.json\s+partial", text)


# ---------------------------------------------------------------------------
# pokeviz compare --report


def test_compare_report_has_every_figure_and_the_variant_tables(root: Path,
                                                                tmp_path: Path) -> None:
    out = invoke("compare", "v1", "v4", "--experiments-dir", root, "--output-dir", tmp_path,
                 "--metric", "reward_total,exploration,badges", "--report")
    path = tmp_path / "compare_v1-v4_report.pdf"
    assert f"wrote    {path}" in out
    assert pdf_pages(path) >= 5  # title, three figures, the tables
    text = pdf_text(path)
    for variant in ("v1", "v4"):
        runs = sorted((root / variant).iterdir())
        finals = []
        for run in runs:
            (final,), = sql(run, "SELECT mean FROM file_stats WHERE metric = 'reward_total' "
                            "AND file = (SELECT file FROM files WHERE entries > 0 "
                            "ORDER BY file_order DESC LIMIT 1)")
            finals.append(final)
            assert f"{final:,.2f}" in text
        cell = f"{np.mean(finals):,.2f} ± {half_width(finals):,.2f}"
        assert any(li.split()[:1] == [variant] and cell in li for li in text.splitlines())
    # Steps to a map: each run's first global step on it, from its tiles view.
    from pokeviz.kanto import load_map_table

    table = load_map_table(root / "map_data.json")
    runs = sorted((root / "v4").iterdir())
    firsts = [dict(sql(run, "SELECT map, min(first_global_step) FROM tiles GROUP BY map"))
              for run in runs]
    shared = sorted(set(firsts[0]) & set(firsts[1]) & set(table.maps),
                    key=lambda m: (firsts[0][m] + firsts[1][m], m))
    v4_part = text[text.index("v4: 2 runs"):]
    for map_id in shared[:3]:
        cells = r"\s+".join(f"{f[map_id]:,}" for f in firsts)
        assert re.search(rf"steps to {re.escape(table.maps[map_id].name)}\s+{cells}\s",
                         v4_part), map_id
    first = path.read_bytes()
    invoke("compare", "v1", "v4", "--experiments-dir", root, "--output-dir", tmp_path,
           "--metric", "reward_total,exploration,badges", "--report")
    assert path.read_bytes() == first


# ---------------------------------------------------------------------------
# Text pages


def test_long_tables_continue_on_more_pages_and_stay_text(tmp_path: Path) -> None:
    from pokeviz.report import write_pdf

    rows = [(f"file_{i:03d}", "error", "x " * 60) for i in range(120)]
    pages = table_pages("Problems", [Table(caption="Files", header=("file", "status",
                                                                     "what"),
                                           rows=rows, wrap=2)])
    assert len(pages) > 2
    path = tmp_path / "t.pdf"
    assert write_pdf(path, [lambda: pages]) == len(pages)
    text = pdf_text(path)
    assert all(f"file_{i:03d}" in text for i in range(120))
    # Every later page names the page and the table it continues.
    assert text.count("Problems (continued)") == len(pages) - 1
    assert text.count("Files (continued)") == len(pages) - 1


def test_wrap_keeps_words_and_fits() -> None:
    lines = wrap_to("a " * 100 + "averyveryverylongword", 100)
    assert len(lines) > 3 and lines[-1].endswith("averyveryverylongword")
    assert wrap_to("", 50) == [""]


def test_variant_option_picks_the_latest_run(root: Path, tmp_path: Path) -> None:
    out = invoke("report", "--variant", "v1", "--experiments-dir", root, "--output-dir",
                 tmp_path)
    path = tmp_path / "v1_20260102_000000_report.pdf"
    assert f"wrote    {path}" in out and path.is_file()
