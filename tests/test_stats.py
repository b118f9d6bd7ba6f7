"""pokeviz.stats: intervals, scores, aggregates, milestones and ``pokeviz stats``."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from pokeviz.api import open_run
from pokeviz.kanto import load_map_table
from pokeviz.stats import band_half_width, half_width, milestones, t_quantile
from pokeviz.synth import synth_run, write_map_table

from .conftest import nested_entry

#: t(0.975, 1) to full precision (tan(0.475 π)), independent of scipy.
T_DF1 = math.tan(0.475 * math.pi)


def _t_cdf(q: float, df: int, n: int = 200_001) -> float:
    """P(T ≤ q) by Simpson's rule on the density (independent of scipy)."""
    x = np.linspace(0.0, q, n)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_c - (df + 1) / 2 * np.log1p(x * x / df))
    h = q / (n - 1)
    simpson = h / 3 * (density[0] + density[-1] + 4 * density[1:-1:2].sum()
                       + 2 * density[2:-1:2].sum())
    return 0.5 + simpson


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 29, 30, 31, 45, 100, 1000])
def test_t_quantile_is_the_975_quantile(df: int) -> None:
    assert _t_cdf(t_quantile(df), df) == pytest.approx(0.975, abs=2e-7)


def test_t_quantile_values_and_limits() -> None:
    assert t_quantile(1) == pytest.approx(T_DF1, abs=5e-7)
    assert t_quantile(2) == 4.302653  # the printed table's value
    assert t_quantile(10**6) == pytest.approx(1.959966, abs=1e-6)
    assert t_quantile(4, 0.90) == 2.131847
    qs = [t_quantile(df) for df in range(1, 40)]
    assert all(a > b for a, b in zip(qs, qs[1:], strict=False))
    with pytest.raises(ValueError):
        t_quantile(0)
    with pytest.raises(ValueError):
        t_quantile(3, 1.5)


def test_half_width_and_bands() -> None:
    values = np.array([[1.0, 2.0], [3.0, 2.0], [8.0, 2.0]])
    sd = np.array([np.std([1.0, 3.0, 8.0], ddof=1), 0.0])
    np.testing.assert_allclose(half_width(values), t_quantile(2) * sd / math.sqrt(3))
    assert half_width([1.0, 3.0]) == pytest.approx(T_DF1 * math.sqrt(2) / math.sqrt(2),
                                                   rel=1e-6)
    np.testing.assert_allclose(band_half_width(values, "sd"), sd)
    np.testing.assert_allclose(band_half_width(values, "se"), sd / math.sqrt(3))
    np.testing.assert_allclose(band_half_width(values, "ci95"), half_width(values))
    assert band_half_width(values, "none") is None
    assert band_half_width(values[:1], "ci95") is None  # one run: no spread to show
    with pytest.raises(ValueError, match="at least 2 runs"):
        half_width([1.0])
    with pytest.raises(ValueError, match="unknown band"):
        band_half_width(values, "iqr")


# ---------------------------------------------------------------------------
# Milestones


def file_order(path: Path) -> tuple[int, str]:
    """File order as the log format defines it: the number in the name, ties by name."""
    return (int(re.search(r"(\d+)\.json$", path.name).group(1)), path.name)


def json_map_milestones(run_dir: Path) -> dict[int, int]:
    """Each map's first global step, from the JSON: min over entries of T − n + 1 + i."""
    first: dict[int, int] = {}
    running = 0
    for path in sorted((run_dir / "json_logs").glob("stats_*.json"), key=file_order):
        entries = json.loads(path.read_text())
        n = len(entries)
        running += n
        t = entries[-1].get("total_steps", running) if n else running
        for i, entry in enumerate(entries):
            m = entry["position"]["map"]
            first[m] = min(first.get(m, t - n + 1 + i), t - n + 1 + i)
    return first


@pytest.mark.parametrize("fmt", ["nested_total", "nested"])
def test_map_milestones_equal_the_json(tmp_path: Path, fmt: str) -> None:
    run = synth_run(tmp_path / "experiments", variant="v4", files=6, envs=3,
                    steps_per_env=150, fmt=fmt, seed=7).run_dir
    write_map_table(tmp_path / "map_data.json")
    table = load_map_table(tmp_path / "map_data.json")
    with open_run(run, jobs=1) as view:
        found = milestones(view, table)
        sql = view.con.execute("SELECT kind, key, first_global_step FROM milestones "
                               "WHERE kind = 'map'").fetchall()
    maps = [m for m in found if m.kind == "map"]
    expected = json_map_milestones(run)
    assert {m.key: m.first_global_step for m in maps} == expected
    assert len(expected) >= 3
    assert [(m.kind, m.key, m.first_global_step) for m in maps] == sql
    assert [m.first_global_step for m in maps] == sorted(expected.values())
    for m in maps:
        assert m.name == (table.maps[m.key].name if m.key in table.maps else None)
        assert m.label == (m.name or f"map {m.key}")


def test_badge_milestones_from_statistics_and_samples(make_run) -> None:
    # File 1: 60 entries, badges 0 → 2 at entry 30 (every entry is a sample: exact).
    # File 2: 400 entries, badge 3 at entry 350 only (samples may miss it).
    one = [nested_entry(i, total_steps=60, map_id=0) for i in range(60)]
    for i, entry in enumerate(one):
        entry["player_status"]["badges"] = 0 if i < 20 else (1 if i < 30 else 2)
    two = [nested_entry(i, total_steps=460, map_id=12) for i in range(400)]
    for i, entry in enumerate(two):
        entry["player_status"]["badges"] = 3 if i >= 350 else 2
    run = make_run({"stats_1.json": one, "stats_2.json": two})
    with open_run(run, jobs=1) as view:
        badges = [m for m in milestones(view) if m.kind == "badge"]
        samples = view.con.execute("SELECT min(global_step) FROM samples WHERE badges >= 3"
                                   ).fetchone()[0]
    assert [(m.key, m.first_global_step) for m in badges[:2]] == [(1, 21), (2, 31)]
    assert badges[2].key == 3 and badges[2].name is None and badges[2].label == "badge 3"
    exact = 60 + 351
    assert exact <= badges[2].first_global_step <= 460  # within the file that reached it
    assert badges[2].first_global_step == (samples if samples is not None else 460)
