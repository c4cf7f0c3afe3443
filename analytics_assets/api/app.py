"""The HTTP service (Starlette under uvicorn): the original Airflow examples' datamart paths and
payload fields, plus list, show, validate and delete.

Every route validates exactly as the command line does (datamarts/catalog.py): a problem is a
422 naming its field, a name taken a 409. Work that blocks (ClickHouse, files, the Dagster
webserver) runs in worker threads; ClickHouse and the spec folder are used by one request at a
time (chDB is one process, and one user of it, at a time).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from analytics_assets.api.auth import Tokens
from analytics_assets.api.dagster import DagsterWebserver, after_change
from analytics_assets.api.openapi import docs_page, openapi
from analytics_assets.datamarts import catalog
from analytics_assets.datamarts.spec import DatamartSpec, SpecError, parse_spec
from analytics_assets.settings import SettingError
from analytics_assets.identifiers import validate_identifier

PREFIX = "/api/v1/mvp"
MAX_BODY_BYTES = 64 * 1024
# How long a request waits for the embedded ClickHouse while a run holds it, before a 503.
CLICKHOUSE_WAIT_SECONDS = 60.0
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger(__name__)


class HTTPProblem(Exception):
    """An error response: status, one sentence, and the fields at fault."""

    def __init__(self, status: int, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.problems = problems or []


def json_response(content: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(content, default=str, ensure_ascii=False, indent=1), status_code=status,
                    media_type="application/json", headers=headers)


def problem_response(problem: HTTPProblem) -> Response:
    body: dict[str, Any] = {"error": str(problem)}
    if problem.problems:
        body["problems"] = [{"field": f, "message": m} for f, m in problem.problems]
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return json_response(body, problem.status, headers)


async def read_json(request: Request, known: tuple[str, ...] | None = None) -> dict:
    """The body as a JSON object, at most MAX_BODY_BYTES (413 past it, whatever the headers say);
    an empty body is {}. With `known`, any other field is a 422 naming it."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise HTTPProblem(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPProblem(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPProblem(422, "the body is not JSON", [("body", str(exc)[:200])]) from None
    if not isinstance(data, dict):
        raise HTTPProblem(422, "the body must be a JSON object", [("body", "must be a JSON object of fields")])
    if known is not None:
        unknown = [(str(k)[:200], f"unknown field (known: {', '.join(known)})") for k in data if k not in known]
        if unknown:
            raise HTTPProblem(422, "unknown fields", unknown)
    return data


def path_name(request: Request) -> str:
    """The datamart name of the path, validated as a spec's name is."""
    name = request.path_params["name"]
    try:
        return validate_identifier(name, what="name")
    except ValueError as exc:
        raise HTTPProblem(422, "invalid datamart name", [("name", str(exc).split(": ", 1)[-1])]) from None


def flag(data: dict, key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise HTTPProblem(422, f"{key} must be true or false", [(key, "must be true or false")])
    return value


def spec_document(spec: DatamartSpec) -> dict:
    """The spec as its file says it (the payload's field names), plus what was inferred."""
    return {**yaml.safe_load(spec.to_yaml()), "reads": list(spec.tables), "source": spec.source,
            "shipped": catalog.shipped(spec),
            "schedule": f"{spec.name}_refresh" if spec.refresh_strategy == "scheduled" else None}


class Service:
    """The routes' state: who may call, the Dagster webserver, one lock for ClickHouse and files."""

    def __init__(self, tokens: Tokens, webserver: DagsterWebserver, *, insecure_local: bool = False):
        from analytics_assets.resources import ClickHouseResource

        self.tokens = tokens
        self.webserver = webserver
        self.insecure_local = insecure_local
        self.clickhouse = ClickHouseResource(lock_timeout_seconds=CLICKHOUSE_WAIT_SECONDS)
        self.lock = threading.Lock()

    async def serial(self, work: Callable, *args, **kwargs):
        """`work` in a worker thread, one at a time; catalog and ClickHouse errors become responses."""
        def locked():
            with self.lock:
                return work(*args, **kwargs)
        try:
            return await run_in_threadpool(locked)
        except SpecError as exc:
            raise HTTPProblem(422, f"the datamart does not validate ({len(exc.problems)} problem(s))",
                              exc.problems) from None
        except catalog.DatamartConflict as exc:
            raise HTTPProblem(409, str(exc)) from None
        except catalog.DatamartNotFound as exc:
            raise HTTPProblem(404, str(exc)) from None
        except TimeoutError as exc:  # a run holds the embedded ClickHouse
            raise HTTPProblem(503, f"{exc}; retry later") from None
        except SettingError as exc:
            raise HTTPProblem(503, str(exc)) from None

    async def after_change(self, **kwargs) -> dict:
        return await run_in_threadpool(after_change, self.webserver, **kwargs)

    # --- routes ---------------------------------------------------------------------------------

    async def list_datamarts(self, request: Request) -> Response:
        specs, errors = await self.serial(catalog.listing)
        return json_response({
            "datamarts": [{"name": s.name, "type": s.type, "refresh_strategy": s.refresh_strategy,
                           "refresh_schedule": s.refresh_schedule, "description": s.description,
                           "source": s.source, "shipped": catalog.shipped(s)} for s in specs],
            "invalid": [{"source": e.source, "problems": [{"field": f, "message": m} for f, m in e.problems]}
                        for e in errors]})

    async def create(self, request: Request) -> Response:
        data = await read_json(request)
        spec, path = await self.serial(catalog.create, data, source="request body", clickhouse=self.clickhouse)
        assets = [spec.name] + ([f"{spec.name}_excel"] if spec.excel else [])
        dagster = await self.after_change(launch=assets, tags={"analytics/trigger": "api"})
        return json_response({"name": spec.name, "spec_file": str(path), "spec": spec_document(spec),
                              "dagster": dagster}, 201)

    async def validate(self, request: Request) -> Response:
        data = await read_json(request)

        def check() -> tuple[DatamartSpec, DatamartSpec | None]:
            spec = catalog.verified(parse_spec(data, source="request body"), self.clickhouse)
            return spec, catalog.find(spec.name)

        spec, existing = await self.serial(check)
        return json_response({"valid": True, "name": spec.name, "type": spec.type, "reads": list(spec.tables),
                              "already_defined_by": existing.source if existing else None})

    async def show(self, request: Request) -> Response:
        name = path_name(request)

        def lookup() -> tuple[DatamartSpec, dict | None]:
            spec = catalog.find(name)
            if spec is None:
                raise catalog.DatamartNotFound(f"no datamart named {name!r}")
            with self.clickhouse.get_client() as wh:
                return spec, catalog.state(wh, name)

        spec, state = await self.serial(lookup)
        return json_response({"name": name, "spec": spec_document(spec), "clickhouse": state or "not built yet"})

    async def schedule(self, request: Request) -> Response:
        name = path_name(request)
        data = await read_json(request, known=("cron_expression", "refresh_mode"))
        if data.get("cron_expression") is None:
            raise HTTPProblem(422, "cron_expression is required", [("cron_expression", "is required")])
        try:
            spec, path = await self.serial(catalog.reschedule, name, data["cron_expression"],
                                           data.get("refresh_mode", "concurrent"))
        except HTTPProblem as problem:  # the spec's field names, as the payload calls them
            rename = {"refresh_schedule": "cron_expression"}
            problem.problems = [(rename.get(f, f), m) for f, m in problem.problems]
            raise
        dagster = await self.after_change(schedule=f"{name}_refresh")
        return json_response({"name": name, "cron_expression": spec.refresh_schedule, "refresh_mode": spec.refresh_mode,
                              "schedule": f"{name}_refresh", "spec_file": str(path), "dagster": dagster})

    async def delete(self, request: Request) -> Response:
        name = path_name(request)
        path = await self.serial(catalog.remove, name)
        dagster = await self.after_change()
        return json_response({"name": name, "deleted": str(path),
                              "table": f"{name} and bi_{name} are kept in ClickHouse: drop them there if unwanted",
                              "dagster": dagster})

    async def export_excel(self, request: Request) -> Response:
        name = path_name(request)
        data = await read_json(request, known=("include_charts", "include_summary"))
        charts_asked, summary_asked = flag(data, "include_charts"), flag(data, "include_summary")
        folder = Path(tempfile.mkdtemp(prefix="analytics-export-"))

        def export():
            from analytics_assets.exports.excel import export_table

            spec = catalog.find(name)
            if spec is None:
                raise catalog.DatamartNotFound(f"no datamart named {name!r}")
            charts, summary = catalog.export_flags(spec, charts_asked, summary_asked)
            with self.clickhouse.get_client() as wh:
                if not wh.table_exists(name):
                    raise catalog.DatamartConflict(f"datamart {name} is not built yet: materialize it first")
                return export_table(wh, name, folder / f"{name}.xlsx", title=name, description=spec.description,
                                    include_charts=charts, include_summary=summary)

        try:
            result = await self.serial(export)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(result.path, media_type=XLSX, filename=f"{name}.xlsx",
                            headers={"X-Rows": str(result.rows), "X-Sheets": ", ".join(result.sheets)},
                            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(docs_page(openapi()))

    async def openapi_json(self, request: Request) -> Response:
        return json_response(openapi())


def create_app(tokens: Tokens, webserver: DagsterWebserver, *, insecure_local: bool = False) -> Starlette:
    """The ASGI app. Without tokens every /api/ request is refused, unless `insecure_local`
    (the command allows that on 127.0.0.1 only)."""
    service = Service(tokens, webserver, insecure_local=insecure_local)

    def guarded(endpoint: Callable) -> Callable:
        async def handle(request: Request) -> Response:
            try:
                if not (service.insecure_local and not service.tokens) \
                        and not service.tokens.accepts(request.headers.get("authorization")):
                    raise HTTPProblem(401, "a valid bearer token is required (Authorization: Bearer <token>)")
                return await endpoint(request)
            except HTTPProblem as problem:
                return problem_response(problem)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return json_response({"error": "internal error: see the API server's log"}, 500)
        return handle

    routes = [
        Route(f"{PREFIX}/datamarts", guarded(service.list_datamarts), methods=["GET"]),
        Route(f"{PREFIX}/datamarts/create", guarded(service.create), methods=["POST"]),
        Route(f"{PREFIX}/datamarts/validate", guarded(service.validate), methods=["POST"]),
        Route(f"{PREFIX}/datamarts/{{name}}", guarded(service.show), methods=["GET"]),
        Route(f"{PREFIX}/datamarts/{{name}}", guarded(service.delete), methods=["DELETE"]),
        Route(f"{PREFIX}/datamarts/{{name}}/schedule", guarded(service.schedule), methods=["POST"]),
        Route(f"{PREFIX}/export/excel/datamart/{{name}}", guarded(service.export_excel), methods=["POST"]),
        Route("/docs", service.docs, methods=["GET"]),
        Route("/openapi.json", service.openapi_json, methods=["GET"]),
    ]
    return Starlette(routes=routes)
