"""Reports from sales_fact: filters, periods, the workbook, and e-mail delivery exactly once
through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import dagster as dg
import openpyxl
import pytest

from analytics_assets.cli import main
from analytics_assets.reports.assets import build_report_assets, report_path
from analytics_assets.reports.schedules import build_report_schedule
from analytics_assets.reports.spec import ReportSpecError, parse_report
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets_tests.support import free_port

DEFINITION = {"name": "mgmt_report", "description": "Management summary", "date_range": "previous_month",
              "filters": {"region": ["North America", "Europe"], "customer_segment": ["Enterprise", "SMB"]},
              "schedule": "0 8 1 * *", "recipients": ["management@company.com", "cfo@company.com"]}


def assets(spec):
    return build_report_assets(spec, retries=None)  # no minutes-long in-run retries in tests


def run(clickhouse, spec, smtp, key="2026-10-01", *, raise_on_error=True):
    return dg.materialize(assets(spec), partition_key=key, raise_on_error=raise_on_error,
                          resources={"clickhouse": clickhouse, "smtp": smtp})


def failure(result) -> str:
    event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return event.event_specific_data.error.to_string()


def test_the_report_holds_the_filtered_period_with_charts_and_is_mailed_once(sales, smtp_server):
    controller, inbox = smtp_server
    spec = parse_report(DEFINITION, source="test")
    smtp = SmtpResource(host="127.0.0.1", port=controller.port, sender="reports@company.com")
    run(sales, spec, smtp)
    path = report_path(spec, "2026-10")
    book = openpyxl.load_workbook(path)
    kpis = {r[0]: r[1:] for r in book["Summary"].iter_rows(min_row=6, values_only=True) if r[0]}
    assert kpis["net_revenue"] == (pytest.approx(175.75), pytest.approx(40.0), pytest.approx(339.4))
    assert kpis["orders"][:2] == (3, 1) and kpis["customers"][:2] == (2, 1)
    regions = list(book["By region"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2]) for r in regions] == [("North America", 125.25, 2), ("Europe", 50.5, 1)]
    daily = list(book["Daily trend"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == 31 and daily[2][1:] == (150.5, 2) and daily[0][1:] == (0, 0)
    charts = book["Charts"]._charts
    assert len(charts) == 3
    assert charts[0].series[0].val.numRef.f == "'Daily trend'!$B$2:$B$32"
    assert charts[0].series[0].cat.numRef.f == "'Daily trend'!$A$2:$A$32"

    assert sorted(m["To"] for m in inbox.messages) == ["cfo@company.com", "management@company.com"]
    message = inbox.messages[0]
    assert message["Subject"] == "Management summary: 2026-10" and message["From"] == "reports@company.com"
    (attachment,) = [p for p in message.walk() if p.get_filename()]
    assert attachment.get_filename() == "2026-10.xlsx"
    assert openpyxl.load_workbook(io.BytesIO(attachment.get_payload(decode=True)))["Charts"]._charts

    run(sales, spec, smtp)  # a rerun: the file is rebuilt, nobody is mailed twice
    assert len(inbox.messages) == 2


def test_smtp_down_fails_the_delivery_keeps_the_file_and_a_retry_delivers_once(sales, smtp_server, clickhouse):
    controller, inbox = smtp_server
    spec = parse_report({**DEFINITION, "recipients": ["management@company.com"]}, source="test")
    down = SmtpResource(host="127.0.0.1", port=free_port(), sender="reports@company.com", timeout_s=2)
    result = run(sales, spec, down, raise_on_error=False)
    assert not result.success
    assert "not delivered to management@company.com (attempt 1" in failure(result)
    assert report_path(spec, "2026-10").exists()
    up = SmtpResource(host="127.0.0.1", port=controller.port, sender="reports@company.com")
    for _ in range(2):
        dg.materialize(assets(spec)[1:], partition_key="2026-10-01", resources={"clickhouse": sales, "smtp": up})
    assert len(inbox.messages) == 1
    with sales.get_client() as wh:
        assert wh.rows("SELECT status, attempts FROM report_deliveries FINAL") == [("sent", 2)]


def test_unknown_filter_values_and_bad_definitions_are_refused_clearly(sales):
    spec = parse_report({**DEFINITION, "filters": {"region": ["Narnia", "Europe' OR 1=1 --"]}}, source="test")
    result = run(sales, spec, SmtpResource(), raise_on_error=False)
    message = failure(result)
    assert "filters.region: 'Narnia' matches no sale" in message and "Europe' OR 1=1 --" in message
    for changes, field in (({"schedule": "0 8 1 * * *"}, "schedule"), ({"recipients": ["not-an-address"]}, "recipients"),
                           ({"filters": {"region; DROP TABLE sales_fact": ["x"]}}, "filters.region; DROP TABLE sales_fact"),
                           ({"name": "x y"}, "name"), ({"date_range": "last_century"}, "date_range"),
                           ({"date_range": {"start_date": "2026-02-01", "end_date": "2026-01-01"}}, "date_range"),
                           ({"format": "pdf"}, "format")):
        with pytest.raises(ReportSpecError) as caught:
            parse_report({**DEFINITION, **changes}, source="test")
        assert field in {f for f, _ in caught.value.problems}


def test_the_schedule_asks_for_the_month_that_just_ended():
    spec = parse_report(DEFINITION, source="test")
    schedule = build_report_schedule(spec)
    request = schedule(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 1, 8, tzinfo=timezone.utc)))
    assert request.partition_key == "2026-10-01" and request.run_key == "mgmt_report-2026-10-01"


def test_the_command_line_builds_and_delivers_one_period(sales, smtp_server, tmp_path, monkeypatch, capsys):
    controller, inbox = smtp_server
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "mgmt_report.yaml").write_text(
        "name: mgmt_report\ndate_range: previous_month\nrecipients: [boss@company.com]\n"
        "filters: {region: [Europe]}\n")
    monkeypatch.setenv("ANALYTICS_REPORTS_DIR", str(folder))
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", sales.dsn)
    for name, value in (("HOST", "127.0.0.1"), ("PORT", str(controller.port)), ("SENDER", "reports@company.com")):
        monkeypatch.setenv(f"ANALYTICS_SMTP_{name}", value)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the project's instance, under the data directory
    assert main(["report", "run", "mgmt_report", "--period", "2026-10", "--deliver"]) == 0
    assert main(["report", "run", "mgmt_report", "--period", "2026-10", "--deliver"]) == 0
    out = capsys.readouterr().out
    assert "boss@company.com: sent (attempt 1," in out and "boss@company.com: already sent" in out
    assert len(inbox.messages) == 1
    # Recorded like a run from the UI: the period's file and delivery, on the project's instance.
    with dg.DagsterInstance.from_config(str(tmp_path / "data" / "dagster_home")) as instance:
        for asset in ("mgmt_report", "mgmt_report_delivery"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == {"2026-10-01"}
    assert main(["report", "run", "mgmt_report", "--period", "October"]) == 2
    assert "is not a monthly period" in capsys.readouterr().err


def test_a_csv_report_for_a_fixed_range_holds_the_same_numbers(sales):
    spec = parse_report({**DEFINITION, "format": "csv", "delivery_method": "none", "recipients": [],
                         "date_range": {"start_date": "2026-10-01", "end_date": "2026-10-31"}}, source="test")
    (file_asset,) = assets(spec)
    dg.materialize([file_asset], resources={"clickhouse": sales})
    path = report_path(spec, "2026-10-01_2026-10-31")
    lines = path.read_text().splitlines()
    assert lines[0] == "section,key,metric,value"
    assert "kpi,net_revenue,this_period,175.75" in lines and "kpi,orders,previous_period,1" in lines
    assert "By region,North America,net_revenue,125.25" in lines


def test_the_sensor_asks_again_for_built_reports_not_delivered(sales, monkeypatch):
    from analytics_assets.reports.sensors import build_delivery_sensor

    spec = parse_report(DEFINITION, source="test")
    sensor = build_delivery_sensor([spec])
    with dg.instance_for_test() as instance:
        dg.materialize(assets(spec)[:1], partition_key="2026-10-01", instance=instance,
                       resources={"clickhouse": sales})
        monkeypatch.delenv("ANALYTICS_SMTP_HOST", raising=False)
        waiting = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(waiting, dg.SkipReason) and "mgmt_report 2026-10-01" in waiting.skip_message
        monkeypatch.setenv("ANALYTICS_SMTP_HOST", "127.0.0.1")
        (request,) = sensor(dg.build_sensor_context(instance=instance))
        assert request.partition_key == "2026-10-01" and request.job_name == "mgmt_report_delivery_job"

