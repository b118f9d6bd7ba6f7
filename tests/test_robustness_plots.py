"""Figures of hostile values: entries near ±1.7e308 plot with finite axes and labels."""

from __future__ import annotations

from pathlib import Path

import pytest

import pokeviz
from pokeviz.plots.style import compact_labels

from .conftest import nested_entry


def test_rewards_near_the_float_limit_plot_and_keep_exact_statistics(
    make_run, tmp_path: Path
) -> None:
    entries = [nested_entry(i, total_steps=20, total=1e308 if i % 2 else -1e308,
                            event=1.7e308) for i in range(20)]
    run = make_run({"stats_1767225600.json": entries})
    result = pokeviz.plot_run(run, map_data=None, output_dir=tmp_path / "out",
                              formats=("png", "svg"))
    assert [p.name for p in result.paths] == [
        "v4_20260101_000000_rewards.png", "v4_20260101_000000_rewards.svg",
        "v4_20260101_000000_heatmap.png", "v4_20260101_000000_heatmap.svg",
    ]
    assert all(p.stat().st_size > 0 for p in result.paths)
    svg = (tmp_path / "out" / "v4_20260101_000000_rewards.svg").read_text()
    assert "e+307" in svg and "inf" not in svg.lower().replace("info", "")
    _, rows = pokeviz.sql(run, "SELECT metric, mean, min, max FROM file_stats "
                               "WHERE metric IN ('reward_total', 'reward_event') ORDER BY 1")
    # Finite and right to the last bits or so (the scaled sum may round once).
    assert rows == [("reward_event", pytest.approx(1.7e308, rel=1e-15), 1.7e308, 1.7e308),
                    ("reward_total", 0.0, -1e308, 1e308)]


def test_tick_labels_beyond_a_trillion_carry_their_exponent() -> None:
    assert compact_labels([-2e307, 0.0, 2e307]) == ["-2e+307", "0", "2e+307"]
    assert compact_labels([0.0, 4e11, 8e11]) == ["0", "400B", "800B"]
    assert compact_labels([0.0, 2.5e6, 5e6]) == ["0", "2.5M", "5.0M"]
