"""pokeviz serve on a real uvicorn server: bind address, URL, signals, live growth."""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pokeviz.api import ingest
from pokeviz.cli import main
from pokeviz.serve.app import create_app
from pokeviz.serve.server import exposure_warning, url_of, uvicorn_config
from pokeviz.synth import synth_experiments, synth_run

DEADLINE_SECONDS = 60.0


class Server:
    """``pokeviz serve`` in a subprocess; its output lines arrive on a queue."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from pokeviz.cli import main; main()", "serve", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str) -> re.Match:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r}; got {self.seen}")

    def url(self) -> str:
        return self.wait_for(r"^open +(http://\S+)$").group(1)

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=DEADLINE_SECONDS)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def experiments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve_cli") / "experiments"
    for r in synth_experiments(root, variants=("v1", "v4"), runs=1, files=3, envs=2,
                               steps_per_env=16):
        ingest(r.run_dir, jobs=1)
    return root


@pytest.fixture
def server_factory() -> Iterator:
    started: list[Server] = []

    def start(*args: str) -> Server:
        server = Server(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=DEADLINE_SECONDS) as response:
        return json.load(response)


def test_help_names_every_option() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--map-data", "--no-watch", "--debounce-seconds",
                   "--stall-minutes", "Example:"):
        assert option in result.output


def test_default_bind_is_this_machine_only(experiments: Path) -> None:
    params = {p.name: p.default for p in main.commands["serve"].params}
    assert params["host"] == "127.0.0.1" and params["port"] == 8050
    config = uvicorn_config(create_app(experiments, watch=False))
    assert (config.host, config.port) == ("127.0.0.1", 8050)
    assert exposure_warning("127.0.0.1") is None
    assert "anyone" in exposure_warning("0.0.0.0")
    assert url_of("0.0.0.0", 8050) == "http://127.0.0.1:8050/"


def test_sigterm_stops_with_status_0(experiments: Path, server_factory) -> None:
    server = server_factory(str(experiments), "--no-watch", "--port", "0")
    url = server.url()
    assert url.startswith("http://127.0.0.1:")
    assert get_json(url + "healthz") == {"status": "ok"}
    # An open event stream must not keep the server from stopping.
    stream = urllib.request.urlopen(url + "api/events", timeout=DEADLINE_SECONDS)
    assert stream.readline().startswith(b"retry:")
    assert server.stop(signal.SIGTERM) == 0
    stream.close()
    assert "stopped" in "\n".join(server.seen + list(server.lines.queue))


def test_ctrl_c_stops_with_status_130(experiments: Path, server_factory) -> None:
    server = server_factory(str(experiments), "--port", "0")
    get_json(server.url() + "healthz")
    assert server.stop(signal.SIGINT) == 130


def test_any_address_prints_a_warning(experiments: Path, server_factory) -> None:
    server = server_factory(str(experiments), "--no-watch", "--host", "0.0.0.0", "--port", "0")
    warning = server.wait_for(r"^warning +--host 0\.0\.0\.0: anyone")
    assert "read these training logs" in warning.string
    get_json(server.url() + "healthz")
    assert server.stop(signal.SIGTERM) == 0


def test_missing_folder_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.output == (f"Error: {tmp_path / 'nope'}: no such experiments folder; pass "
                             "the folder holding the variant folders (v1/, v2/, …)\n")


def test_new_log_file_shows_within_debounce_plus_3_seconds(tmp_path: Path,
                                                             server_factory) -> None:
    root = tmp_path / "experiments"
    made = synth_run(root, variant="v4", files=3, envs=2, steps_per_env=16, final=False)
    source = synth_run(tmp_path / "source", variant="v4", files=4, envs=2, steps_per_env=16,
                       final=False).files[-1]
    debounce = 1.0
    server = server_factory(str(root), "--port", "0", "--debounce-seconds", str(debounce))
    url = server.url()
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:  # the watcher catches the uncached run up first
        (row,) = get_json(url + "api/runs")
        if row["entries"] == made.total_entries:
            break
        time.sleep(0.05)
    assert row["entries"] == made.total_entries, row
    target = made.run_dir / "json_logs" / source.name
    partial = target.with_suffix(".part")
    shutil.copyfile(source, partial)
    partial.rename(target)  # the log file appears complete, as when training closes it
    written = time.monotonic()
    while time.monotonic() < written + DEADLINE_SECONDS:
        (row,) = get_json(url + "api/runs")
        if row["entries"] > made.total_entries:
            break
        time.sleep(0.05)
    delay = time.monotonic() - written
    assert row["entries"] == made.total_entries + 32
    assert row["files"] == 4
    assert delay <= debounce + 3.0, f"shown after {delay:.2f} s"
    assert server.stop(signal.SIGTERM) == 0
