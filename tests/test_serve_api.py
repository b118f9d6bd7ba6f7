"""pokeviz serve: the JSON API against a synthetic experiments folder (in-process ASGI client)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from pokeviz.api import ingest, open_run
from pokeviz.plots.compare import variant_colors
from pokeviz.plots.rewards import rolling_mean, smoothing_stride
from pokeviz.serve import create_app
from pokeviz.serve.alerts import plateaued, stalled
from pokeviz.serve.sql import MAX_ROWS
from pokeviz.synth import synth_experiments, synth_run

from .conftest import nested_entries

V4 = "/api/runs/v4/20260101_000000"


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two variants × two small runs, cached, one with a config file; plus traps that lead
    out of the folder (symlinked variant and run, a config symlink to a file outside)."""
    base = tmp_path_factory.mktemp("serve")
    root = base / "experiments"
    runs = synth_experiments(root, variants=("v1", "v4"), runs=2, files=4, envs=2,
                             steps_per_env=32)
    for r in runs:
        ingest(r.run_dir, jobs=1)
    (runs[2].run_dir / "config.yaml").write_text("learning_rate: 0.0003\nn_envs: 2\n")
    (runs[2].run_dir / "notes.txt").write_text("not a config")
    outside = base / "outside"
    secret_run = synth_run(outside, variant="leak", files=2, envs=1, steps_per_env=8)
    ingest(secret_run.run_dir, jobs=1)
    (outside / "secret.yaml").write_text("password: hunter2\n")
    os.symlink(outside / "leak", root / "leak")  # a variant folder that leads out
    os.symlink(secret_run.run_dir, root / "v1" / "20260101_990000")  # a run that leads out
    os.symlink(outside / "secret.yaml", runs[2].run_dir / "secret.yaml")
    return {"root": root, "runs": runs, "outside": outside}


@pytest.fixture(scope="session")
def client(demo: dict) -> TestClient:
    app = create_app(demo["root"], watch=False)
    with TestClient(app) as c:
        yield c


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_runs_lists_every_run_with_exact_totals(client: TestClient, demo: dict) -> None:
    body = client.get("/api/runs").json()
    assert [(r["variant"], r["run"]) for r in body] == [
        ("v1", "20260101_000000"), ("v1", "20260101_010000"),
        ("v4", "20260101_000000"), ("v4", "20260101_010000")]
    for got, made in zip(body, demo["runs"], strict=True):
        assert got["files"] == len(made.files)
        assert got["entries"] == made.total_entries
        assert got["last_global_step"] == made.last_total_steps
        assert got["problems"] == []
        assert got["alerts"] == []
        assert got["cached"] is True
        newest = max(p.stat().st_mtime for p in made.files)
        assert got["updated"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest))
    colors = variant_colors(["v1", "v4"])
    assert {r["variant"]: r["color"] for r in body} == colors


def test_run_figures_hold_the_cached_numbers(client: TestClient, demo: dict) -> None:
    made = demo["runs"][2]
    with open_run(made.run_dir, update=False) as view:
        means = view.con.execute(
            "SELECT mean FROM file_stats WHERE metric = 'reward_total' ORDER BY first_global_step"
        ).fetchall()
        health = view.con.execute(
            "SELECT mean FROM file_stats WHERE metric = 'health' ORDER BY first_global_step"
        ).fetchall()
        tiles = view.con.execute("SELECT count(*), sum(visits) FROM positions").fetchone()
    rewards = client.get(f"{V4}/rewards").json()
    total = [t for t in rewards["figure"]["data"]
             if t["meta"] == {"metric": "reward_total", "layer": "mean"}]
    assert len(total) == 1
    assert total[0]["y"] == [m[0] for m in means]
    samples = rewards["samples"]["reward_total"]
    assert len(samples["x"]) > 0
    # The slider smooths the samples in rollout order: at the figure's own window that is
    # exactly the PNG's smoothed curve (no env-major saw-tooth).
    assert sorted(samples["rollout_y"]) == sorted(samples["y"])
    assert samples["rollout_x"] == sorted(samples["x"])
    window = samples["window"]
    steps, values = rolling_mean(np.array(samples["rollout_x"]), np.array(samples["rollout_y"]),
                                 window, smoothing_stride(window))
    smoothed = [t for t in rewards["figure"]["data"]
                if t["meta"] == {"metric": "reward_total", "layer": "smoothed"}]
    assert smoothed[0]["x"] == pytest.approx(steps.tolist())
    assert smoothed[0]["y"] == pytest.approx(values.tolist())
    assert rewards["clock"]["seconds"] == [int(p.name.split("_")[-1][:-5]) for p in made.files]

    heat = client.get(f"{V4}/heatmap").json()
    assert heat["total_visits"] == made.total_entries == tiles[1]
    assert heat["unique_tiles"] == tiles[0]
    assert heat["figure"]["data"][0]["type"] == "heatmap"

    tiles_json = client.get(f"{V4}/tiles").json()
    assert sum(tiles_json["visits"]) == made.total_entries
    assert len(tiles_json["global_x"]) == tiles[0]

    files = client.get(f"{V4}/files").json()
    assert [r[0] for r in files["rows"]] == [p.name for p in made.files]
    assert [r[files["columns"].index("entries")] for r in files["rows"]] == list(
        made.entries_per_file)

    metric = client.get(f"{V4}/metrics/health").json()
    assert metric["exact"]["mean"] == [h[0] for h in health]
    names = {c["name"]: c["exact"] for c in client.get(f"{V4}/columns").json()}
    for column in ("health", "levels_sum", "badges", "deaths", "map_progress",
                   "pokemon_count", "exploration_coords", "reward_event"):
        assert column in names
    assert names["health"] is True and names["pokemon_count"] is False
    only_samples = client.get(f"{V4}/metrics/pokemon_count").json()
    assert only_samples["exact"] is None and len(only_samples["samples"]["y"]) > 0
    assert client.get(f"{V4}/metrics/not_a_column").status_code == 404

    positions = client.get(f"{V4}/positions").json()
    assert positions["file"] == made.files[-1].name
    assert positions["entries"] == made.entries_per_file[-1]
    assert len(positions["samples"]["map"]) == min(100, made.entries_per_file[-1])


def test_csv_downloads(client: TestClient, demo: dict) -> None:
    made = demo["runs"][2]
    r = client.get(f"{V4}/files.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("file,file_order,status")
    assert [line.split(",")[0] for line in lines[1:]] == [p.name for p in made.files]
    r = client.get(f"{V4}/metrics/health.csv")
    assert r.text.splitlines()[0] == "global_step,health"


def test_config_shows_yaml_beside_json_logs_only(client: TestClient) -> None:
    files = client.get(f"{V4}/config").json()["files"]
    assert [f["name"] for f in files] == ["config.yaml"]  # secret.yaml leads out: skipped
    assert files[0]["text"] == "learning_rate: 0.0003\nn_envs: 2\n"
    assert client.get("/api/runs/v1/20260101_000000/config").json() == {"files": []}


def test_compare_series_with_bands_and_fixed_colours(client: TestClient) -> None:
    body = client.get("/api/compare?metric=reward_total").json()
    (panel,) = body["panels"]
    by_name = {v["variant"]: v for v in panel["variants"]}
    assert set(by_name) == {"v1", "v4"}
    colors = variant_colors(["v1", "v4"])
    for name, v in by_name.items():
        assert v["color"] == colors[name]
        assert v["runs"] == 2 and len(v["run_series"]) == 2
        low, mean, high = (np.array(v[k], dtype=float) for k in ("low", "mean", "high"))
        assert np.all(low <= mean + 1e-12) and np.all(mean <= high + 1e-12)
    assert client.get("/api/compare?metric=exploration").status_code == 200
    assert client.get("/api/compare?metric=nonsense").status_code == 400


@pytest.mark.parametrize("url", [
    "/api/runs/../v4/files",
    "/api/runs/%2e%2e/v4/files",
    "/api/runs/v4/%2e%2e/files",
    "/api/runs/v4/..%2f..%2fetc/files",
    "/api/runs/%2Fetc/passwd/files",
    "/api/runs/v4/%2Ftmp/config",
    "/api/runs/leak/20260101_000000/files",
    "/api/runs/leak/20260101_000000/config",
    "/api/runs/v1/20260101_990000/files",
    "/api/runs/v1/20260101_990000/rewards",
    "/api/runs/v1/checkpoints/files",
    "/api/runs/nothing/here",
    "/static/..%2fapp.py",
    "/static/index.html",
    "/static/%2e%2e%2fapp.py",
])
def test_paths_outside_the_folder_are_404(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404
    assert "hunter2" not in r.text and "leak" not in {x["variant"] for x in
                                                      client.get("/api/runs").json()}


def test_runs_behind_symlinks_out_are_not_listed(client: TestClient) -> None:
    listed = {(r["variant"], r["run"]) for r in client.get("/api/runs").json()}
    assert ("v1", "20260101_990000") not in listed
    assert not any(v == "leak" for v, _ in listed)


def sql(client: TestClient, query: str, variant: str = "v4",
        run: str = "20260101_000000") -> tuple[int, dict]:
    r = client.post("/api/sql", json={"variant": variant, "run": run, "query": query})
    return r.status_code, r.json()


def test_sql_answers_and_caps_rows(client: TestClient, demo: dict) -> None:
    status, body = sql(client, "SELECT count(*) AS files, sum(entries) AS entries FROM files")
    assert status == 200
    assert body == {"columns": ["files", "entries"],
                    "rows": [[4, demo["runs"][2].total_entries]], "truncated": False}
    status, body = sql(client, "SELECT * FROM range(25000)")
    assert status == 200 and body["truncated"] is True and len(body["rows"]) == MAX_ROWS
    status, body = sql(client, f"SELECT * FROM range({MAX_ROWS})")
    assert body["truncated"] is False and len(body["rows"]) == MAX_ROWS
    status, body = sql(client, "SELECT 'nan'::DOUBLE AS x, DATE '2026-01-01' AS d")
    assert body["rows"] == [[None, "2026-01-01"]]


@pytest.mark.parametrize("query", [
    "COPY files TO '{out}/copied.csv'",
    "COPY (SELECT 1) TO '{out}/copied.csv' (FORMAT csv)",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "ATTACH '{out}/attached.duckdb' AS other",
    "CREATE TABLE x AS SELECT 1",
    "DROP VIEW files",
    "INSERT INTO _manifest SELECT * FROM _manifest",
    "SET enable_external_access = true",
    "SELECT 1; DROP VIEW files",
    "INSTALL httpfs",
    "SELEC nonsense",
    "",
])
def test_sql_that_writes_or_reads_files_is_400(client: TestClient, demo: dict,
                                               query: str) -> None:
    out = demo["outside"]
    status, body = sql(client, query.format(out=out))
    assert status == 400
    assert body["error"]
    assert not (out / "copied.csv").exists() and not (out / "attached.duckdb").exists()
    status, body = sql(client, "SELECT count(*) FROM files")  # the views are intact
    assert status == 200 and body["rows"] == [[4]]


def test_sql_bad_requests(client: TestClient) -> None:
    assert client.post("/api/sql", content=b"not json").status_code == 400
    assert client.post("/api/sql", json={"variant": "v4"}).status_code == 400
    assert sql(client, "SELECT 1", variant="..", run="v4")[0] == 404
    assert sql(client, "SELECT 1", variant="v1", run="20260101_990000")[0] == 404
    r = client.post("/api/sql.csv", json={"variant": "v4", "run": "20260101_000000",
                                          "query": "SELECT file, entries FROM files"})
    assert r.status_code == 200 and r.headers["x-pokeviz-truncated"] == "false"
    assert r.text.splitlines()[0] == "file,entries"


def test_no_watch_serves_the_cache_as_it_is(tmp_path: Path) -> None:
    made = synth_run(tmp_path, variant="v2", files=3, envs=1, steps_per_env=16, final=False)
    ingest(made.run_dir, jobs=1)
    extra = synth_run(tmp_path / "src", variant="v2", files=4, envs=1, steps_per_env=16,
                      final=False).files[-1]
    with TestClient(create_app(tmp_path, watch=False)) as c:
        before = c.get("/api/runs").json()[0]
        (made.run_dir / "json_logs" / extra.name).write_bytes(extra.read_bytes())
        after = c.get("/api/runs").json()[0]
        assert before["entries"] == after["entries"] == made.total_entries
        ingest(made.run_dir, jobs=1)  # another process updates the cache: it shows
        assert c.get("/api/runs").json()[0]["entries"] == made.total_entries + 16


def test_uncached_run_is_listed_and_figures_say_why(tmp_path: Path) -> None:
    synth_run(tmp_path, variant="v3", files=2, envs=1, steps_per_env=8)
    with TestClient(create_app(tmp_path, watch=False)) as c:
        (row,) = c.get("/api/runs").json()
        assert row["cached"] is False and row["entries"] is None and "ingest" in row["note"]
        r = c.get("/api/runs/v3/20260101_000000/rewards")
        assert r.status_code == 409 and "ingest" in r.json()["error"]


def test_alerts_on_the_run_list(tmp_path: Path, make_run) -> None:
    # Stalled: files every 60 s, the newest two hours old, no final file.
    stalled = synth_run(tmp_path, variant="v1", files=5, envs=1, steps_per_env=16,
                        final=False)
    now = time.time()
    for i, path in enumerate(stalled.files):
        when = now - 7200 - 60 * (len(stalled.files) - 1 - i)
        os.utime(path, (when, when))
    ingest(stalled.run_dir, jobs=1)
    # Plateaued: the same entries in every file (no reward growth, no new tile).
    flat = tmp_path / "v2" / "20260101_000000" / "json_logs"
    flat.mkdir(parents=True)
    for i in range(6):
        (flat / f"stats_{1767225600 + 60 * i}.json").write_text(json.dumps(nested_entries(20)))
    ingest(flat.parent, jobs=1)
    with TestClient(create_app(tmp_path, watch=False, stall_minutes=30)) as c:
        rows = {r["variant"]: r for r in c.get("/api/runs").json()}
    (alert,) = rows["v1"]["alerts"]
    assert alert["kind"] == "stalled"
    assert alert["reason"] == ("no new log file for 2.0 h; before that, 5 files came every "
                               "60 s (median)")
    (alert,) = rows["v2"]["alerts"]
    assert alert["kind"] == "plateaued"
    assert "not above" in alert["reason"] and "no new tile (20 unique)" in alert["reason"]


def test_static_page_and_plotly_come_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/charts.js" in page.text
    assert "/static/plotly.min.js" in client.get("/static/charts.js").text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from the network
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    for name in ("app.js", "charts.js", "panels.js", "app.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_stalled_rule() -> None:
    every_minute = [1000.0 + 60 * i for i in range(10)]
    last = every_minute[-1]
    assert stalled(every_minute, now=last + 29 * 60, stall_minutes=30) is None
    alert = stalled(every_minute, now=last + 31 * 60, stall_minutes=30)
    assert alert is not None and alert.reason.startswith("no new log file for 31 min")
    assert stalled(every_minute, now=last + 31 * 60, finished=True) is None
    assert stalled(every_minute[:2], now=last + 3600) is None  # too few files to tell
    irregular = [0.0, 60.0, 3600.0 * 2, 3600.0 * 2 + 60]  # a 2 h gap before: not regular
    assert stalled(irregular, now=irregular[-1] + 3600, stall_minutes=30) is None
    copied = [5000.0] * 6  # written in one go: no cadence
    assert stalled(copied, now=9000.0, stall_minutes=30) is None


def test_plateau_rule() -> None:
    first = np.arange(10) * 100 + 1
    last = first + 99
    growing = np.arange(10, dtype=float)
    assert plateaued(first, last, growing, [1, 500, 950]) is None
    flat = np.array([1, 2, 3, 4, 5, 6, 7, 8, 8, 7], dtype=float)
    assert plateaued(first, last, flat, [1, 500, 950]) is None  # a tile found late
    alert = plateaued(first, last, flat, [1, 500, 700])
    assert alert is not None and alert.kind == "plateaued"
    assert alert.reason == ("over the last 20% of steps (801 … 1K): best per-file mean "
                            "reward 8, not above 8 before; no new tile (3 unique)")
    assert plateaued(first[:4], last[:4], flat[:4], [1]) is None  # too early to say
    no_reward = np.full(10, np.nan)
    assert plateaued(first, last, no_reward, [1]).reason.endswith(
        "no reward_total logged; no new tile (1 unique)")
