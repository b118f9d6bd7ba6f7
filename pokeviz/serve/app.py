"""The ``pokeviz serve`` ASGI app: a JSON API over the runs' cached views, and one page.

Routes are thin: each names a run (:meth:`Catalog.run`, 404 unless it is a run inside
the experiments folder), asks :mod:`pokeviz.serve.data` for the answer (computed once
per cache state, see :mod:`pokeviz.serve.catalog`) and returns JSON. The page
(``static/``) and Plotly.js (from the installed ``plotly`` package) are the only files
served besides run data; no route reads a path taken from a request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import __version__
from ..errors import CacheError, QueryError
from ..kanto import resolve_map_table
from . import data, sql, variants
from .alerts import STALL_MINUTES
from .catalog import Catalog, NotFound
from .config_files import config_files
from .live import Live

STATIC = Path(__file__).with_name("static")
#: The page's own files, by URL name (nothing else under static/ is served).
STATIC_FILES = {"app.css": "text/css", "app.js": "text/javascript",
                "charts.js": "text/javascript", "panels.js": "text/javascript"}
#: Rows a CSV download of a query holds at most.
CSV_MAX_ROWS = 100_000
#: Seconds between keep-alive comments on the event stream.
KEEPALIVE_SECONDS = 15.0
DEBOUNCE_SECONDS = 2.0


def plotly_path() -> Path:
    """``plotly.min.js`` of the installed ``plotly`` package (no CDN, no network)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def json_response(value: Any, status: int = 200) -> Response:
    """A JSON response; ``value`` may already be JSON bytes."""
    body = value if isinstance(value, bytes) else dumps(value)
    return Response(body, status_code=status, media_type="application/json")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes (NaN is never written: :func:`data.plain` turns it into null)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def error(status: int, message: str) -> Response:
    """``{"error": message}`` with ``status``."""
    return json_response({"error": message}, status)


def create_app(
    experiments_dir: str | Path,
    *,
    map_data: str | Path | None = None,
    watch: bool = True,
    debounce_seconds: float = DEBOUNCE_SECONDS,
    stall_minutes: float = STALL_MINUTES,
    poll: bool = False,
    on_error: Callable[[str], Any] | None = None,
) -> Starlette:
    """The dashboard app for one experiments folder.

    Args:
        experiments_dir: the folder holding ``<variant>/<run>/json_logs/``.
        map_data: the map table (default: ``POKEVIZ_MAP_DATA``, else searched from the
            experiments folder upward, as ``pokeviz compare`` does).
        watch: keep every run's cache current with the experiments watcher; False
            serves the caches as they are.
        debounce_seconds: the watcher's debounce.
        stall_minutes: silence after which a run is flagged stalled.
        poll: the watcher polls instead of using OS file events.
        on_error: receives one-line messages of background problems.

    Returns:
        A Starlette app; its lifespan starts and stops the watcher.

    Raises:
        RunNotFoundError: no such experiments folder.
        MapTableError: a named map table cannot be read.
    """
    from ..errors import RunNotFoundError

    root = Path(experiments_dir)
    if not root.is_dir():
        raise RunNotFoundError(f"{root}: no such experiments folder; pass the folder "
                               "holding the variant folders (v1/, v2/, …)")
    table, notes = resolve_map_table(root, map_data)
    catalog = Catalog(root)
    live = Live(catalog, watch=watch, debounce_seconds=debounce_seconds, poll=poll,
                on_error=on_error)

    def run_of(request: Request) -> Any:
        try:
            return catalog.run(request.path_params["variant"], request.path_params["run"])
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None

    def colors(runs: list[Any]) -> dict[str, str]:
        return variants.colors(sorted({r.variant for r in runs}))

    def facts(run: Any, color: str | None = None) -> dict[str, Any]:
        try:
            found = catalog.answer(run, ("facts",), data.run_facts)
        except CacheError as exc:
            found = {"files": None, "entries": None, "first_global_step": None,
                     "last_global_step": None, "statuses": {}, "problems": [],
                     "updated": None, "write_times": [], "finished": False,
                     "plateau": None, "note": str(exc)}
        summary = {k: v for k, v in found.items()
                   if k not in ("write_times", "finished", "plateau")}
        summary["alerts"] = data.run_alerts(found, now=time.time(),
                                            stall_minutes=stall_minutes)
        return {"variant": run.variant, "run": run.timestamp, **summary,
                "cached": "note" not in found, "color": color}

    def figure(key: str, compute: Callable[..., Any]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            run = run_of(request)
            try:
                body = catalog.answer(run, (key,), lambda view: dumps(compute(view)))
            except CacheError as exc:
                return error(409, str(exc))
            return json_response(body)

        return endpoint

    def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    def info(request: Request) -> Response:
        return json_response({
            "version": __version__, "experiments_dir": str(catalog.root),
            "map_table": str(table.path) if table and table.path else None,
            "map_notes": notes, "watch": watch, "debounce_seconds": debounce_seconds,
            "stall_minutes": stall_minutes, "compare_metrics": list(variants.metrics()),
            "max_rows": sql.MAX_ROWS, "generation": live.generation,
        })

    def runs(request: Request) -> Response:
        found = catalog.runs()
        palette = colors(found)
        return json_response([facts(r, palette[r.variant]) for r in found])

    def one_run(request: Request) -> Response:
        run = run_of(request)
        return json_response(facts(run, colors(catalog.runs()).get(run.variant)))

    def metric(request: Request) -> Response:
        run = run_of(request)
        column = request.path_params["column"]
        as_csv = column.endswith(".csv")
        column = column.removesuffix(".csv")
        try:
            found = catalog.answer(run, ("metric", column), lambda v: data.metric(v, column))
        except CacheError as exc:
            return error(409, str(exc))
        if found is None:
            return error(404, f"no numeric column {column!r} in {run.variant}/{run.timestamp}")
        if as_csv:
            rows = zip(found["samples"]["x"], found["samples"]["y"], strict=True)
            return csv_response(sql.to_csv(["global_step", column], rows),
                                f"{run.variant}_{run.timestamp}_{column}.csv")
        return json_response(found)

    def files_csv(request: Request) -> Response:
        run = run_of(request)
        try:
            table_ = catalog.answer(run, ("files-table",), data.files_table)
        except CacheError as exc:
            return error(409, str(exc))
        return csv_response(sql.to_csv(table_["columns"], table_["rows"]),
                            f"{run.variant}_{run.timestamp}_files.csv")

    def config(request: Request) -> Response:
        run = run_of(request)
        return json_response({"files": config_files(run, catalog.root)})

    def compare(request: Request) -> Response:
        metric_name = request.query_params.get("metric", "reward_total")
        wanted = [v for v in request.query_params.get("variants", "").split(",") if v]
        state = variants.compare_state(catalog.runs())
        try:
            body = catalog.cached(
                ("compare", metric_name, tuple(wanted)), state,
                lambda: dumps(variants.series(catalog, metric_name, table, wanted or None)))
        except ValueError as exc:
            return error(400, str(exc))
        return json_response(body)

    async def query(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "send JSON: {\"variant\", \"run\", \"query\"}")
        if not isinstance(body, dict) or not all(
                isinstance(body.get(k), str) for k in ("variant", "run", "query")):
            return error(400, "send JSON: {\"variant\", \"run\", \"query\"} (all strings)")
        try:
            run = catalog.run(body["variant"], body["run"])
        except NotFound as exc:
            return error(404, str(exc))
        as_csv = request.url.path.endswith(".csv")
        cap = CSV_MAX_ROWS if as_csv else sql.MAX_ROWS

        def execute() -> dict[str, Any]:
            with catalog.view(run) as view:
                return sql.run_query(view.con, body["query"], max_rows=cap)

        try:
            result = await asyncio.to_thread(execute)
        except (QueryError, CacheError) as exc:
            return error(400, str(exc))
        if as_csv:
            response = csv_response(sql.to_csv(result["columns"], result["rows"]),
                                    f"{run.variant}_{run.timestamp}_query.csv")
            response.headers["X-Pokeviz-Truncated"] = str(result["truncated"]).lower()
            return response
        return json_response(result)

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            sent = None
            quiet = 0.0
            yield "retry: 2000\n\n"
            while not live.stopping.is_set():
                if live.generation != sent:
                    sent = live.generation
                    quiet = 0.0
                    yield f"event: change\ndata: {json.dumps({'generation': sent})}\n\n"
                elif quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(0.25)
                quiet += 0.25
                if await request.is_disconnected():
                    break

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            return FileResponse(plotly_path(), media_type="text/javascript",
                                headers={"Cache-Control": "max-age=86400"})
        if name not in STATIC_FILES:
            raise HTTPException(404, f"no static file {name!r}")
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, exc.detail)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(live.start)
        try:
            yield
        finally:
            await asyncio.to_thread(live.stop)
            catalog.close()

    base = "/api/runs/{variant}/{run}"
    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/static/{name}", static),
        Route("/api/info", info),
        Route("/api/runs", runs),
        Route(base, one_run),
        Route(f"{base}/rewards", figure("rewards", data.rewards)),
        Route(f"{base}/heatmap", figure("heatmap", lambda v: data.heatmap(v, table))),
        Route(f"{base}/tiles", figure("tiles", lambda v: data.tiles(v, table))),
        Route(f"{base}/positions",
              figure("positions", lambda v: data.latest_positions(v, table))),
        Route(f"{base}/files", figure("files", data.files_table)),
        Route(f"{base}/files.csv", files_csv),
        Route(f"{base}/columns", figure("columns", data.columns)),
        Route(base + "/metrics/{column}", metric),
        Route(f"{base}/config", config),
        Route("/api/compare", compare),
        Route("/api/sql", query, methods=["POST"]),
        Route("/api/sql.csv", query, methods=["POST"]),
        Route("/api/events", events),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: not_found})
    app.state.catalog = catalog
    app.state.live = live
    app.state.map_table = table
    return app


def csv_response(text: str, filename: str) -> Response:
    """A CSV download named ``filename``."""
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

