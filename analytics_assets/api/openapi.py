"""The API's OpenAPI 3.1 description (served at /openapi.json) and a self-contained docs page
(/docs: no script, nothing fetched from elsewhere)."""

from __future__ import annotations

import html
import json

from analytics_assets.datamarts.spec import REFRESH_MODES, REFRESH_STRATEGIES, TYPES

PREFIX = "/api/v1/mvp"

_names = {"type": "array", "items": {"type": "string"}}
SPEC_SCHEMA = {
    "type": "object", "required": ["name", "query"], "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "description": "the table's name: letters, digits, underscores (not _ or bi_ first)"},
        "type": {"type": "string", "enum": list(TYPES), "default": "table"},
        "refresh_strategy": {"type": "string", "enum": list(REFRESH_STRATEGIES), "default": "manual"},
        "refresh_schedule": {"type": "string", "description": "five-field cron, UTC (required when scheduled)"},
        "query": {"type": "string", "description": "one ClickHouse SELECT over the analytics database; may use "
                                                   "{as_of:DateTime64(6, 'UTC')} and {as_of_date:Date32}"},
        "description": {"type": "string"},
        "indexes": {"description": "the sort key columns, or {sort_key: [...], skip: [{column, type, granularity}]}",
                    "oneOf": [_names, {"type": "object"}]},
        "refresh_mode": {"type": "string", "enum": list(REFRESH_MODES)},
        "owners": {**_names, "description": "e-mail addresses or team:<name>"},
        "partition_by": {"type": "string", "description": "a column, or toYYYYMM(column) and the like"},
        "checks": {"type": "object", "properties": {"min_rows": {"type": "integer", "minimum": 0},
                                                    "not_null": _names, "unique_key": _names}},
        "excel": {"description": "keep a workbook: true, or {include_charts, include_summary}",
                  "oneOf": [{"type": "boolean"}, {"type": "object", "properties": {
                      "include_charts": {"type": "boolean"}, "include_summary": {"type": "boolean"}}}]},
    },
}
PROBLEMS = {"description": "what is wrong, field by field", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}, "problems": {"type": "array", "items": {
        "type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}}}}}
ERROR = {"description": "one sentence saying why", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}}}}}}
DAGSTER = ("`dagster`: what the Dagster webserver (ANALYTICS_DAGSTER_URL) did: `reachable`, `reloaded`, "
           "`run_id` and `run_url` of the refresh, or `message` saying plainly why not.")
NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]


def _json_body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _common(responses: dict) -> dict:
    return {**responses, "401": {**ERROR, "description": "no token, or a wrong one"},
            "413": {**ERROR, "description": "the body is larger than 64 KiB"}}


def openapi() -> dict:
    ok = {"description": "done (JSON)"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "analytics-assets datamart API", "version": "1",
                 "description": "The original Airflow examples' datamart API: specs validated as by "
                                "`analytics-assets datamart create`, refreshed through Dagster."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "a token of ANALYTICS_API_TOKENS"}},
                       "schemas": {"DatamartSpec": SPEC_SCHEMA}},
        "security": [{"bearer": []}],
        "paths": {
            f"{PREFIX}/datamarts": {"get": {
                "summary": "Every datamart (shipped and yours), and the spec files that do not validate",
                "responses": _common({"200": ok})}},
            f"{PREFIX}/datamarts/create": {"post": {
                "summary": "Write a datamart's spec, reload the code location and launch its first refresh",
                "description": DAGSTER,
                "requestBody": _json_body({"$ref": "#/components/schemas/DatamartSpec"}),
                "responses": _common({"201": {"description": "the spec file written; " + DAGSTER},
                                      "409": {**ERROR, "description": "the name is taken"}, "422": PROBLEMS,
                                      "503": {**ERROR, "description": "ClickHouse is busy or unreachable"}})}},
            f"{PREFIX}/datamarts/validate": {"post": {
                "summary": "Validate a spec (statically and by ClickHouse) without writing it",
                "requestBody": _json_body({"$ref": "#/components/schemas/DatamartSpec"}),
                "responses": _common({"200": ok, "422": PROBLEMS})}},
            f"{PREFIX}/datamarts/{{name}}": {
                "get": {"summary": "A datamart's spec and its table's state in ClickHouse", "parameters": NAME,
                        "responses": _common({"200": ok, "404": ERROR, "422": PROBLEMS})},
                "delete": {"summary": "Delete your datamart's spec and reload the code location (the table is kept)",
                           "parameters": NAME,
                           "responses": _common({"200": ok, "404": ERROR, "409": {
                               **ERROR, "description": "a shipped datamart"}, "422": PROBLEMS})}},
            f"{PREFIX}/datamarts/{{name}}/schedule": {"post": {
                "summary": "Refresh the datamart on a cron (UTC): rewrite its spec, reload, start its schedule",
                "parameters": NAME, "description": DAGSTER,
                "requestBody": _json_body({"type": "object", "required": ["cron_expression"],
                                           "additionalProperties": False, "properties": {
                                               "cron_expression": {"type": "string"},
                                               "refresh_mode": {"type": "string", "enum": list(REFRESH_MODES)}}}),
                "responses": _common({"200": ok, "404": ERROR, "409": ERROR, "422": PROBLEMS})}},
            f"{PREFIX}/export/excel/datamart/{{name}}": {"post": {
                "summary": "The datamart as an Excel workbook (data, summary, charts)", "parameters": NAME,
                "description": "Flags not given follow the spec's `excel:` setting, else true.",
                "requestBody": _json_body({"type": "object", "additionalProperties": False, "properties": {
                    "include_charts": {"type": "boolean"}, "include_summary": {"type": "boolean"}}}, required=False),
                "responses": _common({"200": {"description": "the workbook", "content": {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}},
                    "404": ERROR, "409": {**ERROR, "description": "not built yet"}, "422": PROBLEMS})}},
        },
    }


def docs_page(spec: dict) -> str:
    """Every operation with its summary, body and answers, from the same description."""
    parts = [f"<h1>{html.escape(spec['info']['title'])}</h1><p>{html.escape(spec['info']['description'])}</p>",
             "<p>Every <code>/api/</code> request needs <code>Authorization: Bearer &lt;token&gt;</code>. "
             "Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            parts.append(f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>"
                         f"<p>{html.escape(operation['summary'])}</p>")
            if operation.get("description"):
                parts.append(f"<p>{html.escape(operation['description'])}</p>")
            body = operation.get("requestBody")
            if body:
                schema = body["content"]["application/json"]["schema"]
                if "$ref" in schema:
                    schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
                parts.append("<h3>Body (JSON)</h3><pre>" + html.escape(json.dumps(schema["properties"], indent=1))
                             + "</pre>")
            answers = ", ".join(f"{code}: {html.escape(r['description'])}" for code, r in operation["responses"].items())
            parts.append(f"<p><b>Answers</b>: {answers}</p>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>analytics-assets API</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:1em}"
            "</style></head><body>" + "".join(parts) + "</body></html>")
