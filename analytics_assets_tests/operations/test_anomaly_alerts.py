"""website_metrics_anomalies mails the anomalies of the last complete hour, exactly those, once,
through a real SMTP server, and posts them to a real local webhook."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from analytics_assets.resources.smtp import SmtpResource
from analytics_assets_tests.reports.test_web_traffic import BOUNCES, SPIKE, points
from analytics_assets_tests.support import free_port
from analytics_assets_tests.web.conftest import analyse, landing, load, rows, write_ndjson  # noqa: F401

ANOMALIES = [dg.AssetKey("website_metrics_anomalies")]


@pytest.fixture
def web(landing, clickhouse, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ANALYTICS_WEB_GAUGE_METRICS", "bounce_rate")
    write_ndjson(landing, "q1.ndjson", points())
    load(clickhouse)
    return clickhouse


def hour_after(hour: datetime, hours: int = 1) -> datetime:
    """A logical time `hours` after `hour` (and 20 minutes): its last complete hour is hour + hours - 1."""
    return hour.replace(tzinfo=timezone.utc) + timedelta(hours=hours, minutes=20)


def test_the_anomalies_of_the_last_complete_hour_are_mailed_and_posted_once(web, smtp_server, webhook, monkeypatch):
    controller, inbox = smtp_server
    monkeypatch.setenv("ANALYTICS_ANOMALY_RECIPIENTS", "web-oncall@company.com, analyst@company.com")
    monkeypatch.setenv("ANALYTICS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ANALYTICS_ALERT_WEBHOOK_URL", webhook.url)
    smtp = SmtpResource(host="127.0.0.1", port=controller.port, sender="alerts@company.com")
    for _ in range(2):  # a rerun of the same hour sends nothing more
        analyse(web, "2026-03-10", as_of=hour_after(SPIKE), selection=ANOMALIES, smtp=smtp)
    expected = rows(web, "SELECT metric_name, value FROM website_metrics_anomalies WHERE status = 'ANOMALY' "
                         "AND hour = {h:DateTime('UTC')} ORDER BY metric_name", {"h": SPIKE})
    assert ("pageviews", 900.0) in expected
    assert rows(web, "SELECT status FROM website_metrics_anomalies WHERE metric_name = 'bounce_rate' "
                     "AND hour = {h:DateTime('UTC')}", {"h": BOUNCES}) == [("ANOMALY",)]  # another hour: not mailed

    assert sorted(m["To"] for m in inbox.messages) == ["analyst@company.com", "web-oncall@company.com"]
    message = inbox.messages[0]
    assert message["Subject"] == (f"[analytics-assets] {len(expected)} web metric anomal"
                                  f"{'y' if len(expected) == 1 else 'ies'} at 2026-03-10 10:00 UTC")
    listed = [line for line in message.get_payload(decode=True).decode().splitlines() if line.startswith("- ")]
    assert [line.split(":")[0][2:] for line in listed] == [m for m, _ in expected]
    assert listed[[m for m, _ in expected].index("pageviews")].startswith("- pageviews: 900 (sum)")
    (hook,) = webhook.bodies
    assert hook["kind"] == "web_anomalies" and hook["details"]["hour"] == "2026-03-10T10:00:00+00:00"
    assert [(a["metric_name"], a["value"]) for a in hook["details"]["anomalies"]] == expected


def test_an_hour_the_mail_server_refused_goes_out_with_the_next_run(web, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    monkeypatch.setenv("ANALYTICS_ANOMALY_RECIPIENTS", "web-oncall@company.com")
    monkeypatch.setenv("ANALYTICS_SMTP_HOST", "127.0.0.1")
    down = SmtpResource(host="127.0.0.1", port=free_port(), sender="alerts@company.com", timeout_s=2)
    up = SmtpResource(host="127.0.0.1", port=controller.port, sender="alerts@company.com")
    result = analyse(web, "2026-03-10", as_of=hour_after(SPIKE), selection=ANOMALIES, smtp=down)
    metadata = result.asset_materializations_for_node("website_metrics_anomalies")[0].metadata
    assert metadata["anomaly_alert 2026-03-10T10:00:00+00:00"].value == "web-oncall@company.com: failed"
    assert inbox.messages == []
    for _ in range(2):  # an hour later the server is back: the 10:00 alert goes out, once
        analyse(web, "2026-03-10", as_of=hour_after(SPIKE, 2), selection=ANOMALIES, smtp=up)
    subjects = [m["Subject"] for m in inbox.messages]
    assert len(subjects) == len(set(subjects)) and any("2026-03-10 10:00 UTC" in s for s in subjects)
    body = next(m for m in inbox.messages if "10:00" in m["Subject"]).get_payload(decode=True).decode()
    assert "- pageviews: 900 (sum)" in body
