"""Security (issue 9): SQL-injection payloads in every user-controlled string, and secrets kept out
of logs, metadata, exception messages, files and what the UI shows.

Each payload, in each place, is either refused with an error naming the field or argument, or
stored and read back literally as data; and no table is dropped or altered (every table and its
row count are the same before and after). Secrets are set to distinctive values, failures that
involve them are caused (unreachable servers, refused logins, a query failing with the password
among its parameters), jobs run through Dagster, and the secrets are searched for in everything
the run stored (what the UI reads), in exception messages, command output and files written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from analytics_assets.cli import main
from analytics_assets.datamarts.assets import build_datamart_asset, query_parameters
from analytics_assets.datamarts.build import refresh, verify
from analytics_assets.datamarts.spec import SpecError, parse_spec
from analytics_assets.ingest.sources import SALES
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.reports import sales_summary
from analytics_assets.reports.spec import ReportSpecError, parse_report
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.identifiers import quote_identifier
from analytics_assets_tests.support import Inbox, evaluate_run_status_sensor, free_port, load_known_sales
from analytics_assets_tests.web.conftest import load as load_web

PAYLOADS = {
    "drop table": "'; DROP TABLE sales_fact; --",
    "or 1=1": "1 OR 1=1",
    "quoted or": "' OR '1'='1",
    "escaped quote": "\\' OR 1 --",
    "backticks": "`sales_fact`; DROP TABLE `sales_fact`",
    "placeholder": "{x:String}",
    "typed placeholder": "{as_of:DateTime64(6, 'UTC')}",
    "python format": "%(as_of)s %s %%",
    "unicode quotes": "\u2018; DROP TABLE sales_fact; \u2014\u2019 \u02bc OR 1=1",
    "shell": "$(touch pwned-by-payload) `touch pwned-by-payload`",
    "template": "${target} $filtered",
    "union": "x' UNION ALL SELECT name FROM system.users --",
    "settings": "x' SETTINGS readonly = 0 --",
    "new line": "x\n; DROP TABLE sales_fact",
    "NUL byte": "x\x00'; DROP TABLE sales_fact",
    "very long": "A" * 5000 + "'; DROP TABLE sales_fact; --",
}
OUTCOMES: list[tuple[str, str, str]] = []  # (place, payload kind, "rejected" | "literal")


def outcome(place: str, kind: str, result: str) -> None:
    OUTCOMES.append((place, kind, result))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("security")


@pytest.fixture(scope="module")
def warehouse(scratch) -> ClickHouseResource:
    """The known sales, an `orders` table, and one sale per payload whose region is the payload."""
    resource = ClickHouseResource(dsn=f"chdb://{scratch / 'clickhouse'}", database="analytics")
    with resource.get_client() as wh:
        load_known_sales(wh)
        for i, payload in enumerate(PAYLOADS.values()):
            wh.command("INSERT INTO sales_fact (sale_id, sale_day, sale_date, customer_id, customer_segment, region,"
                       " category, quantity, net_amount, status, customer_found, product_found, updated_at)"
                       " SELECT 100 + {i:Int64}, '2026-10-10', '2026-10-10 10:00:00', 1, 'SMB', {p:String},"
                       " 'Home', 1, 1.25, 'COMPLETED', 1, 1, '2026-11-01 00:00:00'", {"i": i, "p": payload})
        wh.command("CREATE TABLE orders (day Date32, region String, amount Decimal(18, 2)) ENGINE = MergeTree ORDER BY day")
        wh.command("INSERT INTO orders VALUES ('2026-03-01', 'EU', 10.50), ('2026-03-02', '1 OR 1=1', 1)")
    return resource


def tables(resource: ClickHouseResource) -> dict[str, tuple[str, int, int]]:
    """Every table of the database: its DDL, row count and a checksum of its rows (order-free: the
    sum of each row's hash, so a changed value shows even where the count stays)."""
    with resource.get_client() as wh:
        found = wh.rows("SELECT name, create_table_query, engine FROM system.tables WHERE database = {db:String}",
                        {"db": wh.database})
        snapshot = {}
        for name, ddl, engine in found:
            if name.startswith("_"):
                continue
            if engine in ("View", "MaterializedView"):
                snapshot[name] = (ddl, -1, 0)
            else:
                count, checksum = wh.rows(f"SELECT count(), sum(cityHash64(toString(tuple(*)))) FROM {quote_identifier(name)}")[0]
                snapshot[name] = (ddl, int(count), int(checksum))
        return snapshot


@pytest.fixture
def intact(warehouse):
    """Asserts that no table of the warehouse was dropped or altered, nor its rows changed (tables
    the test itself is meant to create aside)."""
    before = tables(warehouse)
    created: set[str] = set()
    yield created
    after = tables(warehouse)
    assert {k: v for k, v in after.items() if k not in created} == before


def ids(payloads=PAYLOADS):
    return [pytest.param(v, id=k) for k, v in payloads.items()]


# --- datamart specs -----------------------------------------------------------------------------

SPEC = {"name": "safe_dm", "query": "SELECT day, region FROM orders", "indexes": ["day"],
        "checks": {"min_rows": 1, "not_null": ["day"], "unique_key": ["day"]}, "partition_by": "toYYYYMM(day)",
        "refresh_strategy": "scheduled", "refresh_schedule": "0 5 * * *", "owners": ["team:sales"]}
SPEC_FIELDS = {  # field -> how the payload goes in
    "name": lambda p: {"name": p},
    "type": lambda p: {"type": p},
    "refresh_schedule": lambda p: {"refresh_schedule": p},
    "indexes": lambda p: {"indexes": ["day", p]},
    "indexes.skip[0].type": lambda p: {"indexes": {"sort_key": ["day"], "skip": [{"column": "day", "type": p}]}},
    "partition_by": lambda p: {"partition_by": f"toYYYYMM({p})"},
    "checks.not_null": lambda p: {"checks": {"not_null": [p]}},
    "checks.unique_key": lambda p: {"checks": {"unique_key": ["day", p]}},
    "owners": lambda p: {"owners": [p]},
}


@pytest.mark.parametrize("payload", ids())
def test_datamart_spec_fields_refuse_payloads_by_name_and_keep_descriptions_literally(payload, intact):
    for field, put in SPEC_FIELDS.items():
        with pytest.raises(SpecError) as caught:
            parse_spec({**SPEC, **put(payload)}, source="safe_dm.yaml")
        assert field in {f for f, _ in caught.value.problems}, (field, caught.value.problems)
        outcome(f"datamart spec {field}", payload, "rejected")
    import yaml

    spec = parse_spec({**SPEC, "description": payload}, source="safe_dm.yaml")
    again = parse_spec(yaml.safe_load(spec.to_yaml()), source="safe_dm.yaml")
    assert again.description == payload.strip() and again == spec
    outcome("datamart spec description", payload, "literal")


@pytest.mark.parametrize("payload", ids())
def test_a_payload_concatenated_into_a_datamart_query_is_refused_or_only_reads(payload, warehouse, intact):
    """A spec author writing `WHERE region = '<value>'` with a hostile value: the query is refused,
    or it stays one SELECT over the analytics database, built aside and swapped in."""
    query = f"SELECT day, region FROM orders WHERE region = '{payload}'"
    try:
        spec = parse_spec({"name": "probe_dm", "query": query}, source="probe_dm.yaml")
    except SpecError as caught:
        assert {f for f, _ in caught.problems} == {"query"}, caught.problems
        outcome("datamart spec query", payload, "rejected")
        return
    params = query_parameters(datetime(2026, 11, 1, tzinfo=timezone.utc))
    with warehouse.get_client() as wh:
        problems = verify(wh, spec, params)
        if problems:
            assert {f for f, _ in problems} == {"query"}, problems
            outcome("datamart spec query", payload, "rejected")
            return
        intact.add("probe_dm")
        refresh(wh, spec, params, [])
        found = wh.rows("SELECT region FROM probe_dm")
        wh.command("DROP TABLE probe_dm")
    if payload == "' OR '1'='1":  # the author's own condition, now always true: a SELECT that only reads
        assert sorted(found) == [("1 OR 1=1",), ("EU",)]
        outcome("datamart spec query", payload, "read-only SELECT")
        return
    assert found in ([], [(payload,)]), found  # the value compared literally
    outcome("datamart spec query", payload, "literal")


# --- report definitions -------------------------------------------------------------------------

REPORT = {"name": "safe_report", "delivery_method": "none", "date_range": "previous_month"}


@pytest.mark.parametrize("payload", ids())
def test_report_filter_values_are_data_and_other_report_fields_refuse_payloads(payload, warehouse, intact):
    for field, definition in (("recipients", {"delivery_method": "email", "recipients": [payload]}),
                              (f"filters.{payload}", {"filters": {payload: ["Europe"]}}),
                              ("name", {"name": payload}), ("format", {"format": payload}),
                              ("schedule", {"schedule": payload}), ("date_range", {"date_range": payload})):
        with pytest.raises(ReportSpecError) as caught:
            parse_report({**REPORT, **definition}, source="safe_report.yaml")
        assert field in {f for f, _ in caught.value.problems}, (field, caught.value.problems)
        outcome(f"report {field.split('.')[0]}", payload, "rejected")
    try:
        spec = parse_report({**REPORT, "filters": {"region": [payload]}}, source="safe_report.yaml")
    except ReportSpecError as caught:  # over 200 characters
        assert caught.problems == [("filters.region", "must be a non-empty list of values (strings up to 200 "
                                                      "characters)")] and len(payload) > 200
        outcome("report filters values", payload, "rejected")
        return
    with warehouse.get_client() as wh:
        summary = sales_summary.build(wh, spec, date(2026, 10, 1), date(2026, 10, 31), "2026-10")
    by_region = summary.table("By region")
    assert [row[:3] for row in by_region.rows] == [(payload, Decimal("1.25"), 1)]  # exactly its own sale
    outcome("report filters values", payload, "literal")


# --- command line arguments ---------------------------------------------------------------------

def _cli_commands(payload: str) -> list[tuple[list[str], int, str]]:
    """(argv, exit status, what stderr says)."""
    return [
        (["datamart", "show", payload], 1, "error: no datamart named "),
        (["export", "excel", payload], 2, "error: NAME: "),
        (["report", "run", payload], 1, "error: no valid report named "),
        (["report", "run", "monthly_sales_summary", "--period", payload], 2, "error: --period: "),
        (["datamart", "create", payload, "--query", "SELECT 1 AS x"], 1, "  name: "),
        (["datamart", "create", "x_dm", "--query", "SELECT 1 AS x", "--indexes", payload], 1, "  indexes: "),
        (["datamart", "create", "x_dm", "--query", "SELECT 1 AS x", "--schedule", payload], 1, "  refresh_schedule: "),
        (["generate", "--dsn", "postgresql://u@127.0.0.1:1/x", "--as-of", payload], 2, "error: --as-of: "),
    ]


@pytest.mark.parametrize("payload", ids())
def test_cli_arguments_with_payloads_are_refused_clearly(payload, warehouse, intact, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", warehouse.dsn)
    monkeypatch.setenv("ANALYTICS_DATAMARTS_DIR", str(tmp_path / "specs"))
    monkeypatch.setenv("ANALYTICS_REPORTS_DIR", str(tmp_path / "reports"))
    for argv, status, message in _cli_commands(payload):
        assert main(argv) == status, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        outcome(f"command line {' '.join(a for a in argv[:2] if a != payload)}", payload, "rejected")
    assert not (tmp_path / "specs").exists() and not list(Path.cwd().glob("pwned-by-payload"))


def test_the_console_script_refuses_a_payload_in_a_real_process(warehouse, intact, tmp_path):
    script = Path(sys.executable).with_name("analytics-assets")
    env = {**os.environ, "ANALYTICS_CLICKHOUSE_DSN": warehouse.dsn, "ANALYTICS_DATAMARTS_DIR": str(tmp_path)}
    done = subprocess.run([str(script), "export", "excel", PAYLOADS["drop table"]], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: NAME: \"'; DROP TABLE sales_fact; --\" is not a valid identifier")
    outcome("console script", "drop table", "rejected")


# --- landing files: names, metric names, dimension keys and values, tags -------------------------

def _file_name(kind: str, payload: str) -> str | None:
    """The payload as a file name, where a file system allows one (no '/', no NUL, <= 255 bytes)."""
    name = f"{payload}.ndjson"
    return None if "/" in name or "\x00" in name or len(name.encode()) > 255 else name


@pytest.fixture(scope="module")
def landed(scratch, warehouse):
    import json

    folder = scratch / "data" / "landing" / "web"
    folder.mkdir(parents=True)
    names = {}
    for i, (kind, payload) in enumerate(PAYLOADS.items()):
        name = _file_name(kind, payload) or f"payload-{i}.ndjson"
        names[kind] = name
        point = {"timestamp": f"2026-03-02 10:{i:02d}:00", "metric_name": payload, "metric_value": i,
                 "dimensions": {payload: payload, "page": payload}, "tags": [payload, "web"]}
        (folder / name).write_text(json.dumps(point) + "\n" + json.dumps({**point, "metric_name": f"m{i}"}) + "\n"
                                   + payload.replace("\n", " ") + "\n")  # a bad line: the payload alone
    before = tables(warehouse)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ANALYTICS_DATA_DIR", str(scratch / "data"))
        env.setenv("ANALYTICS_WEB_TTL_DAYS", "0")
        env.setenv("ANALYTICS_WEB_MAX_BAD_ROWS_PCT", "80")
        result = load_web(warehouse)
    after = tables(warehouse)
    assert {k: v for k, v in after.items() if k in before} == before  # the web tables are new, nothing else moved
    return names, result


@pytest.mark.parametrize("payload", ids())
def test_landing_file_names_dimensions_and_tags_are_stored_literally(landed, warehouse, payload):
    names, _ = landed
    kind = next(k for k, v in PAYLOADS.items() if v == payload)
    name = names[kind]
    with warehouse.get_client() as wh:
        ((status, file_id),) = wh.rows("SELECT status, source_file_id FROM website_metrics_files FINAL"
                                       " WHERE file_name = {n:String}", {"n": name})
        points = wh.rows("SELECT metric_name, dimensions, tags FROM website_metrics WHERE source_file_id = {f:UInt64}"
                         " ORDER BY metric_name", {"f": file_id})
        quarantined = wh.rows("SELECT file_name, line_no, line, reason FROM website_metrics_quarantine"
                              " WHERE source_file_id = {f:UInt64} ORDER BY line_no", {"f": file_id})
        hourly = wh.rows("SELECT metric_name FROM website_metrics_hourly WHERE metric_name = {m:String}", {"m": payload})
    assert status == "loaded"
    if _file_name(kind, payload):
        outcome("landing file name", payload, "literal")
    for _, dimensions, tags in points:
        assert dimensions == {payload: payload, "page": payload} and tags == [payload, "web"]
    outcome("landing dimension keys and values", payload, "literal")
    outcome("landing tags", payload, "literal")
    line = payload.replace("\n", " ").encode()
    if len(line) > 4096:  # the quarantine keeps a line's first ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES
        line = line[:4096] + f" ... [cut at 4096 of {len(line)} bytes: ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES]".encode()
    assert quarantined[-1][:3] == (name, 3, line.decode())
    if len(points) == 2:  # the payload as a metric name too
        assert points[0][0] == payload or points[1][0] == payload
        assert hourly == [(payload,)]
        outcome("landing metric name", payload, "literal")
    else:  # refused as a name (control characters, JSON-like, too long): quarantined with the reason
        assert quarantined[0][1] == 1 and "is not a name" in quarantined[0][3]
        outcome("landing metric name", payload, "rejected")


# --- run tags and settings ----------------------------------------------------------------------

@pytest.mark.parametrize("payload", ids())
def test_a_payload_in_a_run_tag_or_a_setting_is_refused(payload, warehouse, intact, monkeypatch):
    from analytics_assets.ingest.replicate import replicate

    asset = build_datamart_asset(parse_spec({"name": "tagged_dm", "query": "SELECT 1 AS x"}, source="t.yaml"), set())
    result = dg.materialize([asset], resources={"clickhouse": warehouse}, tags={AS_OF_TAG: payload},
                            raise_on_error=False)
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert f"SettingError: run tag {AS_OF_TAG}: " in failure.event_specific_data.error.to_string()
    outcome("run tag analytics/as_of", payload, "rejected")

    with warehouse.get_client() as wh, pytest.raises(ValueError, match="^source_schema: .* is not a valid identifier"):
        replicate(wh, PostgresResource(dsn="postgresql://u@127.0.0.1:1/x", source_schema=payload), SALES)
    outcome("source_schema", payload, "rejected")
    if "\x00" in payload:  # no environment variable can hold a NUL byte: the OS refuses it
        return
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DATABASE", payload)
    with pytest.raises(ValueError, match="^ANALYTICS_CLICKHOUSE_DATABASE: .* is not a valid identifier"):
        with ClickHouseResource(dsn=warehouse.dsn).get_client():
            pass
    outcome("setting ANALYTICS_CLICKHOUSE_DATABASE", payload, "rejected")
    monkeypatch.setenv("ANALYTICS_BI_USER", payload)
    from analytics_assets.bi.assets import readonly_access_sql

    with pytest.raises(ValueError, match="^ANALYTICS_BI_USER: .* is not a valid identifier"):
        readonly_access_sql("analytics")
    outcome("setting ANALYTICS_BI_USER", payload, "rejected")


def test_injection_figures(figures, warehouse, landed, tmp_path, capsys):
    """Every payload in every place again, here (the tests above, called as functions), so that the
    figures are this test's own measure and it runs alone: every table's DDL, row count and
    checksum before and after."""
    OUTCOMES.clear()
    before = tables(warehouse)
    for i, payload in enumerate(PAYLOADS.values()):
        with pytest.MonkeyPatch.context() as env:
            created: set[str] = set()  # tables a place creates aside (and drops)
            test_datamart_spec_fields_refuse_payloads_by_name_and_keep_descriptions_literally(payload, created)
            test_a_payload_concatenated_into_a_datamart_query_is_refused_or_only_reads(payload, warehouse, created)
            test_report_filter_values_are_data_and_other_report_fields_refuse_payloads(payload, warehouse, created)
            test_cli_arguments_with_payloads_are_refused_clearly(payload, warehouse, created, tmp_path / f"cli-{i}", env,
                                                                 capsys)
            test_landing_file_names_dimensions_and_tags_are_stored_literally(landed, warehouse, payload)
            test_a_payload_in_a_run_tag_or_a_setting_is_refused(payload, warehouse, created, env)
    (tmp_path / "console").mkdir()
    test_the_console_script_refuses_a_payload_in_a_real_process(warehouse, set(), tmp_path / "console")
    after = tables(warehouse)
    dropped = sorted(set(before) - set(after))
    altered = sorted(name for name in set(before) & set(after) if before[name] != after[name])
    with warehouse.get_client() as wh:
        assert wh.row_count("sales_fact") == 8 + len(PAYLOADS)
    places = {place for place, _, _ in OUTCOMES}
    assert len(places) >= 15 and {kind for _, kind, _ in OUTCOMES} >= set(PAYLOADS.values())
    figures.record("security", "injection payloads", len(PAYLOADS))
    figures.record("security", "places tried", len(places))
    figures.record("security", "payload x place attempts", len(OUTCOMES))
    figures.record("security", "rejected with a clear error", sum(1 for *_, r in OUTCOMES if r == "rejected"))
    figures.record("security", "stored / read back literally", sum(1 for *_, r in OUTCOMES if r == "literal"))
    figures.record("security", "datamart queries that stayed a read-only SELECT (author's own SQL)",
                   sum(1 for *_, r in OUTCOMES if r == "read-only SELECT"))
    figures.record("security", "tables compared before and after (DDL, rows, checksum)", len(before))
    figures.record("security", "tables dropped or altered", len(dropped) + len(altered))
    assert not dropped and not altered, (dropped, altered)


# --- secrets ------------------------------------------------------------------------------------

SECRETS = {
    "ANALYTICS_CLICKHOUSE_DSN": "chPw-7f2a-secret",
    "ANALYTICS_POSTGRES_DSN": "pgPw-91bd-secret",
    "ANALYTICS_SMTP_PASSWORD": "smtpPw-c4e0-secret",
    "ANALYTICS_BI_PASSWORD": "biPw-5d77-secret",
    "ANALYTICS_CLICKHOUSE_PASSWORD": "grafanaPw-0aa1-secret",
}
SEARCHED: dict[str, int] = {}  # where secrets were looked for -> how many texts
LEAKS: list[str] = []  # each secret found, where


def assert_no_secret(where: str, *texts: str | bytes) -> None:
    leaked = []
    for text in texts:
        data = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        for name, secret in SECRETS.items():
            if secret in data:
                at = data.find(secret)
                leaked.append(f"{name}'s secret leaked into {where}: ...{data[max(0, at - 200):at + 50]}...")
    SEARCHED[where] = SEARCHED.get(where, 0) + len(texts)
    LEAKS.extend(leaked)
    assert not leaked, leaked[0]


def stored_run(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Everything the instance keeps about a run, serialized: what the UI shows comes from here
    (the run, its tags and config, the job and plan snapshots, every event with its metadata,
    messages and errors with their stack traces)."""
    run = instance.get_run_by_id(run_id)
    texts = [serialize_value(run), serialize_value(instance.get_job_snapshot(run.job_snapshot_id))]
    if run.execution_plan_snapshot_id:
        texts.append(serialize_value(instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)))
    texts += [serialize_value(entry) for entry in instance.all_logs(run_id)]
    return texts


def failure_texts(result) -> list[str]:
    return [e.event_specific_data.error.to_string() for e in result.all_events
            if e.event_type_value == "STEP_FAILURE"]


def set_secrets(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, secret in SECRETS.items():
        if not name.endswith("_DSN"):
            monkeypatch.setenv(name, secret)
    return monkeypatch


@pytest.fixture
def secret_env(monkeypatch):
    return set_secrets(monkeypatch)


def with_password(dsn: str, user: str, password: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))


def test_no_secret_in_a_failed_job_run_through_dagster_job_execute(tmp_path, secret_env, smtp_server):
    """The code location as deployed (definitions.py, EnvVar resources), in its own process: the
    source is unreachable with a password in its DSN."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    env.update({name: secret for name, secret in SECRETS.items() if not name.endswith("_DSN")},
               ANALYTICS_POSTGRES_DSN=f"postgresql://analytics:{SECRETS['ANALYTICS_POSTGRES_DSN']}@127.0.0.1:"
                                      f"{free_port()}/sales",
               ANALYTICS_CLICKHOUSE_DSN=f"chdb://{tmp_path / 'clickhouse'}", ANALYTICS_DATA_DIR=str(tmp_path / "data"),
               ANALYTICS_SMTP_HOST="127.0.0.1", ANALYTICS_SMTP_USER="reports", DAGSTER_HOME=str(home))
    done = subprocess.run([str(Path(sys.executable).with_name("dagster")), "job", "execute", "-m",
                           "analytics_assets.definitions", "-j", "ingest_job"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert_no_secret("dagster job execute stdout/stderr", done.stdout, done.stderr)  # searched first: counted
    assert done.returncode != 0 and "RUN_FAILURE" in done.stdout + done.stderr
    assert "analytics:***@127.0.0.1" in done.stdout + done.stderr  # the failure is about that DSN

    secret_env.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        texts = stored_run(instance, run.run_id)
        assert_no_secret("instance storage (run, snapshots, events)", *texts)
        assert any("analytics:***@127.0.0.1" in t for t in texts)

        # The failure alert e-mail, as run_failure_email sends it.
        from analytics_assets.operations.sensors import run_failure_email
        from analytics_assets.resources.smtp import SmtpResource

        controller, inbox = smtp_server
        secret_env.setenv("ANALYTICS_ALERT_RECIPIENTS", "oncall@company.com")
        secret_env.setenv("ANALYTICS_SMTP_HOST", "127.0.0.1")
        evaluate_run_status_sensor(run_failure_email, instance, run.run_id,
                                   smtp=SmtpResource(host="127.0.0.1", port=controller.port,
                                                     sender="alerts@company.com"))
    (message,) = inbox.messages
    assert_no_secret("failure alert e-mail", message.as_string())
    assert "analytics:***@127.0.0.1" in message.as_string()


def test_no_secret_when_the_clickhouse_server_is_unreachable(secret_env, tmp_path):
    dsn = f"http://analytics:{SECRETS['ANALYTICS_CLICKHOUSE_DSN']}@127.0.0.1:{free_port()}"
    secret_env.setenv("ANALYTICS_CLICKHOUSE_DSN", dsn)
    secret_env.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    from analytics_assets.web.assets import website_metrics

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([website_metrics], instance=instance, raise_on_error=False,
                                resources={"clickhouse": ClickHouseResource(dsn=dg.EnvVar("ANALYTICS_CLICKHOUSE_DSN"))})
        assert not result.success
        errors = failure_texts(result)
        assert_no_secret("ClickHouse connection failure (errors, stack traces)", *errors)
        assert any("cannot connect to ClickHouse at http://analytics:***@127.0.0.1" in e for e in errors)
        assert_no_secret("instance storage (run, snapshots, events)", *stored_run(instance, result.run_id))


@pytest.fixture
def refusing_smtp():
    """A real SMTP server that offers AUTH and refuses every login."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port(), auth_require_tls=False,
                            authenticator=lambda *args: AuthResult(success=False, handled=False))
    controller.start()
    yield controller
    controller.stop()


def test_no_secret_when_the_smtp_login_is_refused(secret_env, refusing_smtp, tmp_path):
    from analytics_assets.reports.assets import build_report_assets, report_path
    from analytics_assets.resources.smtp import SmtpResource

    secret_env.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    sales = ClickHouseResource(dsn=f"chdb://{tmp_path / 'clickhouse'}", database="analytics")
    with sales.get_client() as wh:
        load_known_sales(wh)
    spec = parse_report({"name": "secret_report", "recipients": ["boss@company.com"],
                         "filters": {"region": ["Europe"]}}, source="secret_report.yaml")
    smtp = SmtpResource(host="127.0.0.1", port=refusing_smtp.port, user="reports",
                        password=dg.EnvVar("ANALYTICS_SMTP_PASSWORD"), sender="reports@company.com", timeout_s=10)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(build_report_assets(spec, retries=None), partition_key="2026-10-01", instance=instance,
                                resources={"clickhouse": sales, "smtp": smtp}, raise_on_error=False)
        errors = failure_texts(result)
        assert_no_secret("SMTP login failure (errors, stack traces)", *errors)
        assert any("SMTPAuthenticationError" in e and "not delivered to boss@company.com" in e for e in errors), errors
        assert_no_secret("instance storage (run, snapshots, events)", *stored_run(instance, result.run_id))
    with sales.get_client() as wh:
        (logged,) = wh.rows("SELECT status, error FROM report_deliveries FINAL")
    assert logged[0] == "failed" and "SMTPAuthenticationError" in logged[1]
    assert_no_secret("report_deliveries log", logged[1])
    with zipfile.ZipFile(report_path(spec, "2026-10")) as book:
        assert_no_secret("report file", *(book.read(member) for member in book.namelist()))


def test_no_secret_when_a_server_side_transfer_fails_with_the_password_among_its_parameters(
        pg_dsn, secret_env, tmp_path):
    """transfer_mode server hands the PostgreSQL password to ClickHouse's postgresql() as a query
    parameter; here the query then fails on a value it cannot read (a text column of a user's
    schema typed timestamptz, holding 'infinity': PostgreSQL's text of it is fine, ClickHouse's reader
    of the date type is not)."""
    from analytics_assets.demo import generator
    from analytics_assets.ingest.assets import replica_assets
    from analytics_assets_tests.ingest.conftest import execute

    generator.create_schema(pg_dsn)
    execute(PostgresResource(dsn=pg_dsn), "ALTER TABLE sales ALTER COLUMN status TYPE timestamptz USING NULL")
    execute(PostgresResource(dsn=pg_dsn), "INSERT INTO sales VALUES (1, 1, 1, '2026-06-01', 1, 1, 1, 0, 0, 'infinity',"
                                          " now())")
    dsn = with_password(pg_dsn, urlsplit(pg_dsn).username or "postgres", SECRETS["ANALYTICS_POSTGRES_DSN"])
    secret_env.setenv("ANALYTICS_POSTGRES_DSN", dsn)
    secret_env.setenv("ANALYTICS_TRANSFER_MODE", "server")
    clickhouse = ClickHouseResource(dsn=f"chdb://{tmp_path / 'clickhouse'}", database="analytics")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(replica_assets, selection=["raw_sales"], instance=instance, raise_on_error=False,
                                resources={"clickhouse": clickhouse,
                                           "postgres": PostgresResource(dsn=dg.EnvVar("ANALYTICS_POSTGRES_DSN"))})
        errors = failure_texts(result)
        assert_no_secret("server-side transfer failure (errors, stack traces)", *errors)
        assert any("infinity" in e for e in errors), errors  # ClickHouse failed inside the postgresql() query
        assert_no_secret("instance storage (run, snapshots, events)", *stored_run(instance, result.run_id))


def test_no_secret_in_bi_files_written(secret_env, tmp_path):
    """Grafana provisioning and the read-only BI user: names and placeholders, never values."""
    from analytics_assets.bi.assets import bi_readonly_access
    from analytics_assets.bi.grafana import write_provisioning

    secret_env.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    secret_env.setenv("ANALYTICS_CLICKHOUSE_DSN", f"https://bi:{SECRETS['ANALYTICS_CLICKHOUSE_DSN']}@ch.example.com:8443")
    files = write_provisioning(tmp_path / "grafana")
    assert_no_secret("Grafana provisioning files", *(f.read_bytes() for f in files))
    assert "${ANALYTICS_CLICKHOUSE_PASSWORD}" in files[-1].read_text() or any(
        "${ANALYTICS_CLICKHOUSE_PASSWORD}" in f.read_text() for f in files)

    secret_env.setenv("ANALYTICS_CLICKHOUSE_DSN", f"chdb://{tmp_path / 'clickhouse'}")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([bi_readonly_access], instance=instance,
                                resources={"clickhouse": ClickHouseResource(dsn=dg.EnvVar("ANALYTICS_CLICKHOUSE_DSN"))})
        assert_no_secret("instance storage (run, snapshots, events)", *stored_run(instance, result.run_id))
    written = (tmp_path / "data" / "bi" / "readonly_access.sql").read_text()
    import hashlib

    assert hashlib.sha256(SECRETS["ANALYTICS_BI_PASSWORD"].encode()).hexdigest() in written
    assert_no_secret("readonly_access.sql", written)


def test_no_secret_in_command_line_output(tmp_path, secret_env, warehouse):
    script = str(Path(sys.executable).with_name("analytics-assets"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANALYTICS_")}
    env.update({name: secret for name, secret in SECRETS.items() if not name.endswith("_DSN")},
               ANALYTICS_DATA_DIR=str(tmp_path), ANALYTICS_SMTP_HOST="127.0.0.1", ANALYTICS_SMTP_USER="reports")
    pg = f"postgresql://analytics:{SECRETS['ANALYTICS_POSTGRES_DSN']}@127.0.0.1:{free_port()}/sales"
    ch = f"http://analytics:{SECRETS['ANALYTICS_CLICKHOUSE_DSN']}@127.0.0.1:{free_port()}"
    runs = [
        ([script, "generate", "--dsn", pg, "--customers", "1", "--products", "1", "--sales", "1"], {}),
        ([script, "report", "run", "monthly_sales_summary", "--period", "2026-10", "--deliver"],
         {"ANALYTICS_CLICKHOUSE_DSN": ch}),
        ([script, "datamart", "show", "sales_dashboard_dm"], {"ANALYTICS_CLICKHOUSE_DSN": ch}),
    ]
    for argv, extra in runs:
        done = subprocess.run(argv, env={**env, **extra}, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert_no_secret("command line stdout/stderr", done.stdout, done.stderr)
        assert done.returncode != 0, argv
        assert "***@127.0.0.1" in done.stderr, (argv, done.stderr[-2000:])
    with pytest.raises(Exception) as caught:  # and in-process, the exception itself
        with PostgresResource(dsn=pg, connect_timeout_seconds=2).connect():
            pass
    assert_no_secret("exception messages", str(caught.value), repr(caught.value.args))


def test_no_secret_in_the_landing_tables_when_the_folder_links_to_the_environment(tmp_path, secret_env):
    """The held-out case of issue 20, as deployed (`dagster asset materialize`, its own process, the
    secrets in its environment): the web landing folder holds links to the run's environment and
    to /etc/passwd, and a regular file whose bad lines carry every secret. The links are refused
    unread and named; the lines are quarantined masked; no table (quarantine and registry
    included), no stored event and no output holds a secret."""
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    folder = data / "landing" / "web"
    folder.mkdir(parents=True)
    (folder / "env.ndjson").symlink_to("/proc/self/environ")
    (folder / "passwd.ndjson").symlink_to("/etc/passwd")
    pg = f"postgresql://analytics:{SECRETS['ANALYTICS_POSTGRES_DSN']}@db.internal:5432/sales"
    good = [json.dumps({"timestamp": f"2026-03-02 10:{i:02d}:00", "metric_name": "pageviews", "metric_value": i})
            for i in range(60)]
    bad = [f"{name}={secret}" for name, secret in SECRETS.items() if not name.endswith("_DSN")] + [
        f"ANALYTICS_POSTGRES_DSN={pg}",
        json.dumps({"timestamp": "2026-03-02 11:00:00", "metric_name": "x",
                    "metric_value": SECRETS["ANALYTICS_SMTP_PASSWORD"]})]
    (folder / "leak.ndjson").write_text("".join(line + "\n" for line in good + bad))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    env.update({name: secret for name, secret in SECRETS.items() if not name.endswith("_DSN")},
               ANALYTICS_POSTGRES_DSN=pg, ANALYTICS_CLICKHOUSE_DSN=f"chdb://{tmp_path / 'clickhouse'}",
               ANALYTICS_DATA_DIR=str(data), ANALYTICS_WEB_TTL_DAYS="0", DAGSTER_HOME=str(home))
    done = subprocess.run([str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m",
                           "analytics_assets.definitions", "--select",
                           "website_metrics,website_metrics_hourly"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_no_secret("dagster asset materialize stdout/stderr", done.stdout, done.stderr)

    clickhouse = ClickHouseResource(dsn=f"chdb://{tmp_path / 'clickhouse'}", database="analytics")
    with clickhouse.get_client() as wh:
        registry = dict(wh.rows("SELECT file_name, status FROM website_metrics_files FINAL"))
        masked = wh.scalar("SELECT countIf(secret_masked = 1) FROM website_metrics_quarantine")
        names = [name for (name,) in wh.rows("SELECT name FROM system.tables WHERE database = 'analytics'"
                                             " AND engine NOT IN ('View', 'MaterializedView')")]
        contents = {name: wh.raw_query(f"SELECT * FROM {quote_identifier(name)}", fmt="TSV") for name in names}
    secret_env.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        run_texts = stored_run(instance, run.run_id)
    try:
        for name in ("website_metrics_quarantine", "website_metrics_files"):
            assert_no_secret(f"ClickHouse table {name}", contents.pop(name))
        assert_no_secret("every other ClickHouse table", *contents.values())
    finally:  # every place searched (and counted), even after a leak
        assert_no_secret("instance storage (run, snapshots, events)", *run_texts)
    assert registry == {"env.ndjson": "refused", "passwd.ndjson": "refused", "leak.ndjson": "loaded"}
    assert masked == len(bad)  # the search was not vacuous: the lines are there, masked


def test_secret_figures(figures, tmp_path, smtp_server, refusing_smtp, pg_dsn, warehouse):
    """Every secret search again, here (the tests above, called as functions, each in a fresh
    environment), so that the figures are this test's own measure and it runs alone: the secrets
    found are counted, not assumed."""
    SEARCHED.clear()
    LEAKS.clear()
    searches = {
        "job run": lambda env, path: test_no_secret_in_a_failed_job_run_through_dagster_job_execute(path, env,
                                                                                                   smtp_server),
        "ClickHouse unreachable": lambda env, path: test_no_secret_when_the_clickhouse_server_is_unreachable(env, path),
        "SMTP login refused": lambda env, path: test_no_secret_when_the_smtp_login_is_refused(env, refusing_smtp, path),
        "server-side transfer": lambda env, path:
            test_no_secret_when_a_server_side_transfer_fails_with_the_password_among_its_parameters(pg_dsn, env, path),
        "BI files": lambda env, path: test_no_secret_in_bi_files_written(env, path),
        "command line": lambda env, path: test_no_secret_in_command_line_output(path, env, warehouse),
        "landing folder": lambda env, path:
            test_no_secret_in_the_landing_tables_when_the_folder_links_to_the_environment(path, env),
    }
    failures = []
    for what, search in searches.items():
        path = tmp_path / what.replace(" ", "-")
        path.mkdir()
        with pytest.MonkeyPatch.context() as env:
            try:
                search(set_secrets(env), path)
            except AssertionError as exc:  # counted below; a leak is in LEAKS too
                failures.append(f"{what}: {str(exc)[:300]}")
    figures.record("security", "secrets set", len(SECRETS))
    figures.record("security", "places searched for secrets", len(SEARCHED))
    figures.record("security", "texts searched (events, snapshots, messages, files, output, tables)",
                   sum(SEARCHED.values()))
    figures.record("security", "secrets leaked", len(LEAKS))
    assert not LEAKS and not failures, (LEAKS[:3], failures)
    assert len(SEARCHED) >= 10
