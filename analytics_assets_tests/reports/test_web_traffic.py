"""The web_traffic report for March 2026 over metric files loaded and analysed by the real
pipeline, against pandas over the same points; mailed once through a real SMTP server."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import openpyxl
import pandas as pd
import pytest

from analytics_assets.reports.assets import build_report_assets, report_path
from analytics_assets.reports.spec import parse_report
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets_tests.web.conftest import analyse, landing, load, point, rows, write_ndjson  # noqa: F401

SPIKE = datetime(2026, 3, 10, 10)
OUTAGE = datetime(2026, 3, 20, 3)
BOUNCES = datetime(2026, 3, 10, 8)  # the bounce rate jumps two hours before the spike


def points() -> list[dict]:
    """pageviews every hour from 1 January to 31 March 2026 (a daily shape), a spike and an outage
    in March; bounce_rate (a gauge) twice an hour."""
    out, hour = [], datetime(2026, 1, 1)
    while hour < datetime(2026, 4, 1):
        base = 100 + 10 * (hour.hour % 6) + hour.day % 3
        if hour != OUTAGE:
            out.append(point(f"{hour:%Y-%m-%d %H}:05:00", "pageviews", 900 if hour == SPIKE else base))
        bounce = 0.95 if hour == BOUNCES else 0.3 + 0.01 * (hour.day % 5)
        out += [point(f"{hour:%Y-%m-%d %H}:10:00", "bounce_rate", bounce),
                point(f"{hour:%Y-%m-%d %H}:40:00", "bounce_rate", 0.5)]
        hour += timedelta(hours=1)
    return out


@pytest.fixture
def web(landing, clickhouse, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ANALYTICS_WEB_GAUGE_METRICS", "bounce_rate")
    write_ndjson(landing, "q1.ndjson", points())
    load(clickhouse)
    analyse(clickhouse, "2026-03-01", "2026-03-31", selection=[dg.AssetKey("website_metrics_anomalies")])
    return clickhouse


def build(clickhouse, spec, smtp):
    return dg.materialize(build_report_assets(spec, retries=None), partition_key="2026-03-01",
                          resources={"clickhouse": clickhouse, "smtp": smtp})


def test_traffic_kpis_trend_and_anomalies_equal_pandas_and_the_report_is_mailed_once(web, smtp_server):
    controller, inbox = smtp_server
    spec = parse_report({"name": "traffic", "report_type": "web_traffic", "description": "Web traffic",
                         "recipients": ["web@company.com"]}, source="test")
    smtp = SmtpResource(host="127.0.0.1", port=controller.port, sender="reports@company.com")
    build(web, spec, smtp)
    df = pd.DataFrame(points())
    df["timestamp"] = pd.to_datetime(df.timestamp)
    march = df[(df.timestamp >= "2026-03-01") & (df.timestamp < "2026-04-01")]
    february = df[(df.timestamp >= "2026-02-01") & (df.timestamp < "2026-03-01")]

    def value(frame, metric):
        values = frame[frame.metric_name == metric].metric_value
        return values.mean() if metric == "bounce_rate" else values.sum()

    book = openpyxl.load_workbook(report_path(spec, "2026-03"))
    kpis = {r[0]: r[1:3] for r in book["Summary"].iter_rows(min_row=6, values_only=True) if r[0]}
    for metric in ("pageviews", "bounce_rate"):
        assert kpis[metric] == (pytest.approx(value(march, metric)), pytest.approx(value(february, metric))), metric

    daily = list(book["Daily trend"].iter_rows(values_only=True))
    assert daily[0] == ("date", "pageviews", "bounce_rate") and len(daily) == 32
    by_day = march.assign(day=march.timestamp.dt.date).groupby(["day", "metric_name"]).metric_value
    sums, means = by_day.sum(), by_day.mean()
    for row in daily[1:]:
        day = row[0].date()
        assert row[1:] == (pytest.approx(sums[(day, "pageviews")]), pytest.approx(means[(day, "bounce_rate")])), day

    anomalies = [(r[0], r[1]) for r in book["Anomalies"].iter_rows(min_row=2, values_only=True)]
    stored = rows(web, "SELECT hour, metric_name FROM website_metrics_anomalies WHERE status = 'ANOMALY' "
                       "AND date BETWEEN '2026-03-01' AND '2026-03-31' ORDER BY hour, metric_name")
    assert anomalies == [(h.replace(tzinfo=None), m) for h, m in stored]
    assert {(SPIKE, "pageviews"), (OUTAGE, "pageviews"), (BOUNCES, "bounce_rate")} <= set(anomalies)
    assert kpis["anomalous_hours"][0] == len(anomalies)
    assert len(book["Charts"]._charts) == 2

    (message,) = inbox.messages
    assert message["To"] == "web@company.com" and message["Subject"] == "Web traffic: 2026-03"
    build(web, spec, smtp)
    assert len(inbox.messages) == 1


def test_the_metric_filter_keeps_only_its_metrics_and_a_typo_is_named(web):
    spec = parse_report({"name": "views", "report_type": "web_traffic", "delivery_method": "none",
                         "filters": {"metric_name": ["pageviews"]}}, source="views.yaml")
    dg.materialize(build_report_assets(spec)[:1], partition_key="2026-03-01", resources={"clickhouse": web})
    book = openpyxl.load_workbook(report_path(spec, "2026-03"))
    assert next(book["Daily trend"].iter_rows(values_only=True)) == ("date", "pageviews")
    assert {r[1] for r in book["Anomalies"].iter_rows(min_row=2, values_only=True)} == {"pageviews"}
    typo = parse_report({**{"name": "typo", "report_type": "web_traffic", "delivery_method": "none"},
                         "filters": {"metric_name": ["pageveiws"]}}, source="typo.yaml")
    result = dg.materialize(build_report_assets(typo)[:1], partition_key="2026-03-01", resources={"clickhouse": web},
                            raise_on_error=False)
    error = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error
    assert "typo.yaml: filters.metric_name: 'pageveiws' matches no web metric" in error.to_string()
