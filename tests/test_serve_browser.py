"""pokeviz serve in a real browser: headless Debian chromium driven by Playwright.

Set ``POKEVIZ_SCREENSHOT=path.png`` to also save the page as the README shows it.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from pokeviz.outputs import atomic_write
from pokeviz.synth import synth_experiments, synth_run

from .test_serve_cli import DEADLINE_SECONDS, Server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
TIMEOUT_MS = int(DEADLINE_SECONDS * 1000)
#: Which run the reward chart shows, and the y values of its exact per-file total line.
KEY = "document.getElementById('rewards-plot').dataset.key"
TOTAL_MEAN = ("JSON.stringify(document.getElementById('rewards-plot').data.filter(t => t.meta "
              "&& t.meta.metric === 'reward_total' && t.meta.layer === 'mean')[0].y)")


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install -y chromium; .ci/run does it) to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def plot_traces(page, element_id: str) -> int:
    return page.evaluate(f"(document.getElementById('{element_id}').data || []).length")


def test_page_draws_switches_runs_and_grows_live(tmp_path: Path, browser) -> None:
    root = tmp_path / "experiments"
    synth_experiments(root, variants=("v1", "v2", "v3", "v4"), runs=2, files=6, envs=4,
                      steps_per_env=64)
    (root / "v4" / "20260101_010000" / "config.yaml").write_text(
        "algorithm: PPO\nn_envs: 4\nlearning_rate: 0.0003\nframe_stacking: false\n")
    growing = synth_run(root, variant="v4", timestamp="20260101_020000", files=5, envs=4,
                        steps_per_env=64, final=False)
    source = synth_run(tmp_path / "source", variant="v4", timestamp="20260101_020000",
                       files=6, envs=4, steps_per_env=64, final=False).files[-1]
    server = Server(str(root), "--port", "0", "--debounce-seconds", "1")
    try:
        url = server.url()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"{m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(url, timeout=TIMEOUT_MS)
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=TIMEOUT_MS)
        # The newest cached run is picked first: v4/20260101_020000, with every run listed.
        page.wait_for_function("document.querySelectorAll('#runs li').length === 9",
                               timeout=TIMEOUT_MS)
        assert plot_traces(page, "rewards-plot") > 10
        assert page.evaluate(KEY) == "v4/20260101_020000"
        before = page.evaluate(TOTAL_MEAN)

        # Filter the list by a regular expression, then pick another run.
        page.fill("#filter", "^v1/")
        page.wait_for_function("document.querySelectorAll('#runs li').length === 2")
        page.click("#runs li[data-key='v1/20260101_000000']")
        page.wait_for_function(f"{KEY} === 'v1/20260101_000000'", timeout=TIMEOUT_MS)
        assert plot_traces(page, "rewards-plot") > 10
        after = page.evaluate(TOTAL_MEAN)
        assert after and before and after != before
        page.fill("#filter", "")

        for tab, plot in (("map", "map-plot"), ("positions", "positions-plot"),
                          ("metrics", "metric-plot"), ("compare", "compare-plot")):
            page.click(f"#tabs button[data-tab={tab}]")
            page.wait_for_function(
                f"(document.getElementById('{plot}').data || []).length > 0",
                timeout=TIMEOUT_MS)
        page.click("#tabs button[data-tab=sql]")
        page.click("#sql-run")
        page.wait_for_selector("#sql-table table", timeout=TIMEOUT_MS)

        # A new log file in the selected run: the entry count on the page grows by itself.
        page.click("#runs li[data-key='v4/20260101_020000']")
        page.click("#tabs button[data-tab=rewards]")
        page.wait_for_function(
            f"Number(document.getElementById('run-stats').dataset.entries) === "
            f"{growing.total_entries}", timeout=TIMEOUT_MS)
        target = growing.run_dir / "json_logs" / source.name
        shutil.copyfile(source, target.with_suffix(".part"))
        target.with_suffix(".part").rename(target)
        page.wait_for_function(
            f"Number(document.getElementById('run-stats').dataset.entries) > "
            f"{growing.total_entries}", timeout=TIMEOUT_MS)
        shown = page.evaluate("document.getElementById('run-stats').textContent")
        assert f"{growing.total_entries + 256:,} entries" in shown

        if os.environ.get("POKEVIZ_SCREENSHOT"):
            page.wait_for_timeout(500)  # let the last redraw settle for the picture
            atomic_write(os.environ["POKEVIZ_SCREENSHOT"], page.screenshot())
        assert problems == []
        page.close()
    finally:
        if server.process.poll() is None:
            assert server.stop(signal.SIGTERM) == 0
        server.kill()
