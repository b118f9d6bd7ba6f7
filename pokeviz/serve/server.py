"""Run the dashboard on uvicorn: bind, print the URL, stop cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import PokevizError
from .alerts import STALL_MINUTES
from .app import DEBOUNCE_SECONDS, create_app

#: The default address: this machine only. Anything else exposes the logs to the network.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
#: Seconds open connections (the pages' event streams) get to finish when stopping.
GRACEFUL_SECONDS = 2


def url_of(host: str, port: int) -> str:
    """The URL to open for a bind address (``0.0.0.0``/``::`` → this machine's name)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def exposure_warning(host: str) -> str | None:
    """The warning printed when the server listens beyond this machine, else None."""
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        return None
    return (f"--host {host}: anyone who can reach this machine on the network can read "
            "these training logs and run SQL on them; use --host 127.0.0.1 (the default) "
            "and an SSH tunnel to keep them private")


def uvicorn_config(app: Any, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> Any:
    """The uvicorn configuration the server runs with (one process, no reload)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          lifespan="on", timeout_graceful_shutdown=GRACEFUL_SECONDS,
                          proxy_headers=False, server_header=False)


def serve(
    experiments_dir: str | Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    map_data: str | Path | None = None,
    watch: bool = True,
    debounce_seconds: float = DEBOUNCE_SECONDS,
    stall_minutes: float = STALL_MINUTES,
    poll: bool = False,
    on_line: Callable[[str], Any] = print,
) -> int:
    """Serve the dashboard until SIGTERM or Ctrl-C (``pokeviz serve``).

    Args:
        experiments_dir, map_data, watch, debounce_seconds, stall_minutes, poll: see
            :func:`pokeviz.serve.app.create_app`.
        host, port: where to listen (default 127.0.0.1:8050; port 0 picks a free one).
        on_line: receives the lines to show (URL, warnings, background problems).

    Returns:
        The exit status: 0 after SIGTERM, 130 after Ctrl-C (SIGINT).

    Raises:
        PokevizError: no such experiments folder, a bad map table, an address that
            cannot be bound (port in use).
    """
    import uvicorn

    app = create_app(experiments_dir, map_data=map_data, watch=watch,
                     debounce_seconds=debounce_seconds, stall_minutes=stall_minutes,
                     poll=poll, on_error=lambda m: on_line(f"problem  {m}"))
    warning = exposure_warning(host)
    if warning:
        on_line(f"warning  {warning}")
    received: list[int] = []

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            received.append(sig)
            app.state.live.stopping.set()  # ends the pages' event streams at once
            super().handle_exit(sig, frame)

    server = Server(uvicorn_config(app, host=host, port=port))
    announced = threading.Event()

    def announce() -> None:
        while not server.started and not server.should_exit:
            if announced.wait(0.05):
                return
        if server.started:
            port_ = port
            for s in getattr(server, "servers", []):
                for sock in s.sockets:
                    port_ = sock.getsockname()[1]
                    break
            on_line(f"serving  {app.state.catalog.root}  "
                    f"({'watching' if watch else 'not watching: caches as they are'})")
            on_line(f"open     {url_of(host, port_)}")

    # uvicorn restores the handlers it found and raises the signal again once stopped;
    # these record it instead of dying (SIGTERM) or raising KeyboardInterrupt late.
    previous = {sig: signal.signal(sig, lambda s, f: received.append(s))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    watcher = threading.Thread(target=announce, daemon=True)
    watcher.start()
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        raise PokevizError(f"{host}:{port}: cannot listen there (the port is in use, or the "
                           "address is not this machine's); choose another --port or "
                           "--host") from exc
    finally:
        announced.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    on_line("stopped")
    return 130 if signal.SIGINT in received else 0
