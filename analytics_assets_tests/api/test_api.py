"""The datamart API on a real socket: `analytics-assets api` started as a subprocess (uvicorn), on an
embedded ClickHouse holding the known sales, called over HTTP; and once against a `dagster dev`
started here, which reloads the code location and runs the datamart's first refresh."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

import openpyxl
import pytest

from analytics_assets.datamarts.spec import load_spec
from analytics_assets.resources import ClickHouseResource
from analytics_assets_tests.operations.test_security import PAYLOADS
from analytics_assets_tests.support import REPO, dagster_dev, free_port, graphql, load_known_sales

TOKEN = "test-token-0123456789abcdef"
SCRIPT = str(Path(os.sys.executable).with_name("analytics-assets"))
API = "/api/v1/mvp"
# The original's Example 4 payload, over sales_fact (which holds each sale with its customer and product).
EXAMPLE_4 = {
    "name": "region_sales_dm", "type": "materialized_view", "refresh_strategy": "scheduled",
    "refresh_schedule": "0 */6 * * *", "description": "Sales by region for BI tools", "indexes": ["region"],
    "query": "SELECT region, sum(net_amount) AS revenue, uniqExact(sale_id) AS order_count FROM sales_fact"
             " WHERE status = 'COMPLETED' GROUP BY region",
    "checks": {"min_rows": 1, "unique_key": ["region"]},
}


def call(base: str, method: str, path: str, body=None, *, token: str | None = TOKEN, headers: dict | None = None
         ) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one request; `body` is JSON-encoded unless bytes or an iterator."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    sent = dict(headers or {})
    if token is not None:
        sent.setdefault("Authorization", f"Bearer {token}".encode())
    if body is not None and not isinstance(body, (bytes, Iterator)):
        body = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=sent, encode_chunked=isinstance(body, Iterator))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def call_json(base: str, method: str, path: str, body=None, **kw) -> tuple[int, dict]:
    status, headers, data = call(base, method, path, body, **kw)
    assert headers.get("content-type", "").startswith("application/json"), (status, data[:500])
    return status, json.loads(data)


def fields(answer: dict) -> set[str]:
    return {p["field"] for p in answer.get("problems", [])}


@contextmanager
def api_server(env: dict, log: Path, *args: str) -> Iterator[str]:
    """`analytics-assets api` on a free 127.0.0.1 port with `env`: yields its base URL."""
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen([SCRIPT, "api", "--port", str(port), *args], cwd=log.parent, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if call(f"http://127.0.0.1:{port}", "GET", "/openapi.json", token=None)[0] == 200:
                        break
                except OSError:
                    assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, dict]:
    """(folder, environment): an embedded ClickHouse with the known sales, an empty datamart folder,
    and a Dagster URL on which nothing listens."""
    root = tmp_path_factory.mktemp("api")
    clickhouse = ClickHouseResource(dsn=f"chdb://{root / 'clickhouse'}", database="analytics")
    with clickhouse.get_client() as wh:
        load_known_sales(wh)
    (root / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    env.update(ANALYTICS_CLICKHOUSE_DSN=clickhouse.dsn, ANALYTICS_DATA_DIR=str(root / "data"),
               ANALYTICS_DATAMARTS_DIR=str(root / "specs"), ANALYTICS_API_TOKENS=f"another-token-abcdefghij,{TOKEN}",
               ANALYTICS_DAGSTER_URL=f"http://127.0.0.1:{free_port()}", DAGSTER_HOME=str(root / "home"))
    return root, env


@pytest.fixture(scope="module")
def api(world) -> Iterator[str]:
    root, env = world
    with api_server(env, root / "api.log") as base:
        yield base


def specs(root: Path) -> set[str]:
    return {p.name for p in (root / "specs").glob("*")} if (root / "specs").exists() else set()


def sales_fact_state(root: Path) -> tuple:
    with ClickHouseResource(dsn=f"chdb://{root / 'clickhouse'}", database="analytics").get_client() as wh:
        return tuple(wh.rows("SELECT count(), sum(cityHash64(toString(tuple(*)))) FROM sales_fact")[0]) + tuple(
            sorted(name for (name,) in wh.rows("SELECT name FROM system.tables WHERE database = 'analytics'")))


ROUTES = [("GET", f"{API}/datamarts", None), ("POST", f"{API}/datamarts/create", EXAMPLE_4),
          ("POST", f"{API}/datamarts/validate", EXAMPLE_4), ("GET", f"{API}/datamarts/region_sales_dm", None),
          ("DELETE", f"{API}/datamarts/region_sales_dm", None),
          ("POST", f"{API}/datamarts/region_sales_dm/schedule", {"cron_expression": "0 7 * * *"}),
          ("POST", f"{API}/export/excel/datamart/category_monthly_dm", {"include_charts": True})]


def test_every_route_refuses_a_missing_or_wrong_token_with_401(api, world):
    root, _ = world
    before = specs(root)
    for method, path, body in ROUTES:
        for token, headers in ((None, {}), ("wrong-token-0123456789abcdef", {}), (TOKEN[:-1], {}),
                               (TOKEN + "x", {}), (None, {"Authorization": f"Basic {TOKEN}"}),
                               (None, {"Authorization": "Bearer"}), (None, {"Authorization": TOKEN})):
            status, headers_back, _ = call(api, method, path, body, token=token, headers=headers)
            assert (status, headers_back.get("www-authenticate")) == (401, "Bearer"), (method, path, token, headers)
    assert specs(root) == before
    assert call(api, "GET", f"{API}/datamarts", token="another-token-abcdefghij")[0] == 200  # either token
    status, _, page = call(api, "GET", "/docs", token=None)
    assert status == 200 and b"/api/v1/mvp/export/excel/datamart/{name}" in page
    described = json.loads(call(api, "GET", "/openapi.json", token=None)[2])
    assert {path for _, path, _ in ROUTES} - {"/api/v1/mvp/datamarts/region_sales_dm",
                                              "/api/v1/mvp/datamarts/region_sales_dm/schedule",
                                              "/api/v1/mvp/export/excel/datamart/category_monthly_dm"} \
        <= set(described["paths"])
    assert described["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_create_writes_the_spec_says_no_webserver_answered_and_a_duplicate_is_409(api, world):
    root, _ = world
    payload = {**EXAMPLE_4, "name": "created_dm"}
    status, answer = call_json(api, "POST", f"{API}/datamarts/create", payload)
    assert status == 201, answer
    path = root / "specs" / "created_dm.yaml"
    assert answer["spec_file"] == answer["spec"]["source"] == str(path) and answer["spec"]["shipped"] is False
    spec = load_spec(path)
    assert (spec.name, spec.type, spec.refresh_schedule, spec.sort_key, spec.tables) == (
        "created_dm", "materialized_view", "0 */6 * * *", ("region",), ("sales_fact",))
    dagster = answer["dagster"]
    assert dagster["reachable"] is False and "no Dagster webserver answered at" in dagster["message"]
    assert "run_id" not in dagster

    status, conflict = call_json(api, "POST", f"{API}/datamarts/create", {**payload, "description": "again"})
    assert status == 409 and "created_dm exists" in conflict["error"]
    status, conflict = call_json(api, "POST", f"{API}/datamarts/create", {**payload, "name": "sales_dashboard_dm"})
    assert status == 409 and "already defined by" in conflict["error"] and "sales_dashboard_dm.yaml" in conflict["error"]
    assert load_spec(path) == spec  # unchanged

    status, shown = call_json(api, "GET", f"{API}/datamarts/created_dm")
    assert status == 200 and shown["clickhouse"] == "not built yet"
    assert shown["spec"]["query"].strip() == payload["query"] and shown["spec"]["schedule"] == "created_dm_refresh"
    listed = call_json(api, "GET", f"{API}/datamarts")[1]["datamarts"]
    assert {"created_dm", "sales_dashboard_dm", "category_monthly_dm"} <= {d["name"] for d in listed}
    status, valid = call_json(api, "POST", f"{API}/datamarts/validate", payload)
    assert status == 200 and valid["already_defined_by"] == str(path) and valid["reads"] == ["sales_fact"]

    status, deleted = call_json(api, "DELETE", f"{API}/datamarts/created_dm")
    assert status == 200 and not path.exists() and deleted["dagster"]["reachable"] is False
    assert call_json(api, "DELETE", f"{API}/datamarts/created_dm")[0] == 404
    status, shipped = call_json(api, "DELETE", f"{API}/datamarts/sales_dashboard_dm")
    assert status == 409 and "shipped" in shipped["error"]


@pytest.mark.parametrize("changes, expected", [
    ({"refresh_schedule": "every hour"}, {"refresh_schedule"}),
    ({"name": "sales fact"}, {"name"}),
    ({"name": "sales_fact"}, {"name"}),  # one of our tables
    ({"query": "SELECT missing_column FROM sales_fact"}, {"query"}),  # ClickHouse's verdict
    ({"indexes": ["customer_id"]}, {"indexes"}),  # not a column of the query
    ({"checks": {"unique_key": ["nope"]}}, {"checks.unique_key"}),  # ClickHouse: no such column
    ({"checks": {"min_rows": -1}, "refresh_strategy": "often"}, {"checks.min_rows", "refresh_strategy"}),
    ({"excel": {"include_charts": "yes"}}, {"excel.include_charts"}),
    ({"colour": "blue"}, {"colour"}),
    ({"name": None}, {"name"}),
])
def test_validation_errors_are_422_naming_the_field_and_write_nothing(api, world, changes, expected):
    root, _ = world
    before = specs(root)
    payload = {k: v for k, v in {**EXAMPLE_4, "name": "refused_dm", **changes}.items() if v is not None}
    for route in ("create", "validate"):
        status, answer = call_json(api, "POST", f"{API}/datamarts/{route}", payload)
        assert status == 422 and fields(answer) == expected, (route, answer)
    assert specs(root) == before


def test_a_body_that_is_not_a_json_object_is_422_and_one_over_64_kib_is_413(api, world):
    root, _ = world
    for body in (b"{not json", b"[1, 2]", "\u00e9".encode("latin-1")):
        status, answer = call_json(api, "POST", f"{API}/datamarts/create", body)
        assert status == 422 and fields(answer) == {"body"}, body
    big = {**EXAMPLE_4, "name": "big_dm", "description": "x" * (64 * 1024)}
    assert call(api, "POST", f"{API}/datamarts/create", big)[0] == 413
    chunks = iter([b'{"name": "big_dm", "description": "'] + [b"x" * 8192] * 9 + [b'"}'])  # no Content-Length
    assert call(api, "POST", f"{API}/datamarts/create", chunks)[0] == 413
    assert call(api, "POST", f"{API}/datamarts/create", b"{}", headers={"Content-Length": "99999999"})[0] == 413
    assert "big_dm.yaml" not in specs(root)


def test_schedule_rewrites_the_spec_and_says_the_schedule_could_not_be_started(api, world):
    root, _ = world
    payload = {**EXAMPLE_4, "name": "later_dm", "refresh_strategy": "manual", "refresh_schedule": None}
    assert call_json(api, "POST", f"{API}/datamarts/create", {k: v for k, v in payload.items() if v})[0] == 201
    assert load_spec(root / "specs" / "later_dm.yaml").refresh_strategy == "manual"
    status, answer = call_json(api, "POST", f"{API}/datamarts/later_dm/schedule",
                               {"cron_expression": "30 7 * * 1", "refresh_mode": "concurrent"})
    assert status == 200, answer
    spec = load_spec(root / "specs" / "later_dm.yaml")
    assert (spec.refresh_strategy, spec.refresh_schedule, spec.query) == ("scheduled", "30 7 * * 1", EXAMPLE_4["query"])
    assert answer["schedule"] == "later_dm_refresh" and answer["dagster"]["reachable"] is False
    for body, expected in (({"cron_expression": "61 * * * *"}, {"cron_expression"}), ({}, {"cron_expression"}),
                           ({"cron_expression": "0 7 * * *", "refresh_mode": "truncate"}, {"refresh_mode"}),
                           ({"cron_expression": "0 7 * * *", "when": "now"}, {"when"})):
        status, refused = call_json(api, "POST", f"{API}/datamarts/later_dm/schedule", body)
        assert status == 422 and fields(refused) == expected, (body, refused)
    assert load_spec(root / "specs" / "later_dm.yaml") == spec
    assert call_json(api, "POST", f"{API}/datamarts/nobody_dm/schedule", {"cron_expression": "0 7 * * *"})[0] == 404
    assert call_json(api, "POST", f"{API}/datamarts/sales_dashboard_dm/schedule",
                     {"cron_expression": "0 7 * * *"})[0] == 409


def test_export_returns_a_workbook_with_and_without_charts_and_summary(api, world):
    import dagster as dg

    from analytics_assets.datamarts.assets import build_datamart_asset

    root, _ = world
    clickhouse = ClickHouseResource(dsn=f"chdb://{root / 'clickhouse'}", database="analytics")
    status, answer = call_json(api, "POST", f"{API}/datamarts/create", {**EXAMPLE_4, "name": "exported_dm"})
    assert status == 201, answer
    assert call_json(api, "POST", f"{API}/export/excel/datamart/exported_dm", {})[0] == 409  # not built yet
    dg.materialize([build_datamart_asset(load_spec(root / "specs" / "exported_dm.yaml"), set())],
                   resources={"clickhouse": clickhouse})
    with clickhouse.get_client() as wh:
        expected = wh.rows("SELECT region, revenue, order_count FROM exported_dm ORDER BY region")
    assert len(expected) == 3

    def workbook(body) -> openpyxl.Workbook:
        status, headers, data = call(api, "POST", f"{API}/export/excel/datamart/exported_dm", body)
        assert status == 200 and headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), data[:300]
        assert 'filename="exported_dm.xlsx"' in headers["content-disposition"] and headers["x-rows"] == "3"
        return openpyxl.load_workbook(io.BytesIO(data))

    full = workbook({"include_charts": True, "include_summary": True})
    assert full.sheetnames == ["Summary", "Charts", "Data", "Chart data"] and full["Charts"]._charts
    rows = [r for r in full["Data"].iter_rows(values_only=True)]
    assert rows[0] == ("region", "revenue", "order_count")
    assert sorted((r[0], float(r[1]), r[2]) for r in rows[1:]) == [(a, float(b), c) for a, b, c in expected]
    assert workbook(None).sheetnames == full.sheetnames  # no body: the spec's setting, else everything
    assert workbook({"include_charts": False, "include_summary": False}).sheetnames == ["Data"]
    assert workbook({"include_charts": False}).sheetnames == ["Summary", "Data"]
    assert workbook({"include_summary": False}).sheetnames == ["Charts", "Data", "Chart data"]
    for body, expected_fields in (({"include_charts": "yes"}, {"include_charts"}), ({"format": "pdf"}, {"format"})):
        status, refused = call_json(api, "POST", f"{API}/export/excel/datamart/exported_dm", body)
        assert status == 422 and fields(refused) == expected_fields
    assert call_json(api, "POST", f"{API}/export/excel/datamart/nobody_dm", {})[0] == 404


CREATE_FIELDS = {  # field -> how the payload goes into the create payload
    "name": lambda p: {"name": p},
    "type": lambda p: {"type": p},
    "refresh_strategy": lambda p: {"refresh_strategy": p},
    "refresh_schedule": lambda p: {"refresh_schedule": p},
    "query": lambda p: {"query": p},
    "indexes": lambda p: {"indexes": ["region", p]},
    "owners": lambda p: {"owners": [p]},
    "partition_by": lambda p: {"partition_by": p},
    "checks.not_null": lambda p: {"checks": {"not_null": [p]}},
    "checks.unique_key": lambda p: {"checks": {"unique_key": [p]}},
    "refresh_mode": lambda p: {"refresh_mode": p},
    "excel": lambda p: {"excel": p},
}


@pytest.mark.parametrize("payload", [pytest.param(v, id=k) for k, v in PAYLOADS.items()])
def test_an_injection_payload_in_every_field_is_refused(api, world, payload):
    """Each payload in each field of each route is refused (422 naming the field, or 404 where it
    makes the path another one); no spec is written, no table changed, no command run."""
    root, _ = world
    before, tables = specs(root), sales_fact_state(root)
    for field, put in CREATE_FIELDS.items():
        for route in ("create", "validate"):
            status, answer = call_json(api, "POST", f"{API}/datamarts/{route}", {**EXAMPLE_4, **put(payload)})
            assert status == 422 and field in fields(answer), (route, field, answer)
    name = quote(payload, safe="")
    for method, path, body, field in (
            ("GET", f"{API}/datamarts/{name}", None, "name"), ("DELETE", f"{API}/datamarts/{name}", None, "name"),
            ("POST", f"{API}/datamarts/{name}/schedule", {"cron_expression": "0 7 * * *"}, "name"),
            ("POST", f"{API}/export/excel/datamart/{name}", {}, "name"),
            ("POST", f"{API}/datamarts/sales_dashboard_dm/schedule", {"cron_expression": payload}, "cron_expression"),
            ("POST", f"{API}/export/excel/datamart/category_monthly_dm", {"include_charts": payload}, "include_charts"),
            ("POST", f"{API}/export/excel/datamart/category_monthly_dm", {payload: True}, payload[:200])):
        status, answer = call_json(api, method, path, body)
        assert status == 422 and field in fields(answer), (method, path, answer)
    assert call(api, "GET", f"{API}/datamarts", token=payload.replace("\n", " ").replace("\x00", " "))[0] == 401
    status, answer = call_json(api, "POST", f"{API}/datamarts/validate", {**EXAMPLE_4, "description": payload})
    assert status == 200 and answer["valid"] is True  # free text: data, never SQL
    assert specs(root) == before and sales_fact_state(root) == tables
    assert not list(root.rglob("pwned-by-payload"))


def test_the_service_refuses_to_start_without_tokens_unless_insecure_local_on_127_0_0_1(world, tmp_path):
    _, env = world
    bare = {k: v for k, v in env.items() if k != "ANALYTICS_API_TOKENS"}
    for args, env_, message in (
            ([], bare, "ANALYTICS_API_TOKENS is not set"),
            (["--insecure-local", "--host", "0.0.0.0"], bare, "--insecure-local serves 127.0.0.1"),
            ([], {**bare, "ANALYTICS_API_TOKENS": "short,also-a-long-enough-token"}, "token 1 (counting from 1)"),
            ([], {**env, "ANALYTICS_DAGSTER_URL": "ftp://x"}, "ANALYTICS_DAGSTER_URL: 'ftp://x'")):
        done = subprocess.run([SCRIPT, "api", "--port", str(free_port()), *args], env=env_, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    with api_server(bare, tmp_path / "api.log", "--insecure-local") as base:
        assert call(base, "GET", f"{API}/datamarts", token=None)[0] == 200


RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
SCHEDULE = """query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) {
  ... on Schedule { scheduleState { status } } } }"""


def test_create_reloads_the_code_location_and_launches_the_first_refresh_in_dagster_dev(world, tmp_path):
    """One `dagster dev` for the module: create reloads it (the new spec becomes an asset) and
    launches the refresh, which its daemon runs; schedule starts the datamart's schedule."""
    root, env = world
    with dagster_dev(env, tmp_path / "dagster-dev.log") as dagster_url, \
            api_server({**env, "ANALYTICS_DAGSTER_URL": dagster_url}, tmp_path / "api.log") as base:
        payload = {**EXAMPLE_4, "name": "launched_dm", "refresh_strategy": "manual", "refresh_schedule": None,
                   "excel": {"include_charts": False}}
        status, answer = call_json(base, "POST", f"{API}/datamarts/create", {k: v for k, v in payload.items() if v})
        assert status == 201, answer
        dagster = answer["dagster"]
        assert (dagster["reachable"], dagster["reloaded"], dagster["location"]) == (True, True, "analytics_assets"), dagster
        assert dagster["run_url"] == f"{dagster_url}/runs/{dagster['run_id']}"
        deadline = time.monotonic() + 240
        while (state := graphql(dagster_url, RUN_STATUS, {"id": dagster["run_id"]})["runOrError"]["status"]) \
                not in ("SUCCESS", "FAILURE", "CANCELED"):
            assert time.monotonic() < deadline, f"run {dagster['run_id']} still {state}"
            time.sleep(1)
        assert state == "SUCCESS", (tmp_path / "dagster-dev.log").read_text()[-3000:]
        status, shown = call_json(base, "GET", f"{API}/datamarts/launched_dm")
        assert shown["clickhouse"]["rows"] == 3 and shown["clickhouse"]["engine"] == "MergeTree"
        workbook = openpyxl.load_workbook(root / "data" / "exports" / "launched_dm.xlsx")  # the excel asset ran too
        assert workbook.sheetnames == ["Summary", "Data"]

        status, scheduled = call_json(base, "POST", f"{API}/datamarts/launched_dm/schedule",
                                      {"cron_expression": "0 7 * * *"})
        assert status == 200 and scheduled["dagster"]["schedule_status"] == "RUNNING", scheduled
        selector = {"repositoryLocationName": "analytics_assets", "repositoryName": "__repository__",
                    "scheduleName": "launched_dm_refresh"}
        assert graphql(dagster_url, SCHEDULE, {"s": selector})["scheduleOrError"]["scheduleState"]["status"] == "RUNNING"

        status, deleted = call_json(base, "DELETE", f"{API}/datamarts/launched_dm")
        assert status == 200 and deleted["dagster"]["reloaded"] is True
        nodes = graphql(dagster_url, "{ assetNodes { assetKey { path } } }")["assetNodes"]
        assert ["launched_dm"] not in [n["assetKey"]["path"] for n in nodes]
        assert ["sales_dashboard_dm"] in [n["assetKey"]["path"] for n in nodes]
