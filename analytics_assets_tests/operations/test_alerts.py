"""A failed run e-mails the people on call, through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import dagster as dg

from analytics_assets.operations.alerts import run_failure_email
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets_tests.support import evaluate_run_status_sensor


@dg.asset
def flaky_table():
    raise RuntimeError("ClickHouse said no")


def _evaluate(instance, result, smtp):
    evaluate_run_status_sensor(run_failure_email, instance, result.run_id, smtp=smtp)


def test_a_failed_run_sends_one_alert_naming_the_step_and_error(smtp_server, monkeypatch):
    controller, inbox = smtp_server
    smtp = SmtpResource(host="127.0.0.1", port=controller.port, sender="alerts@company.com")
    with dg.instance_for_test() as instance:
        result = dg.materialize([flaky_table], instance=instance, raise_on_error=False)
        monkeypatch.delenv("ANALYTICS_ALERT_RECIPIENTS", raising=False)
        _evaluate(instance, result, smtp)
        assert inbox.messages == []  # nobody to tell
        monkeypatch.setenv("ANALYTICS_ALERT_RECIPIENTS", "oncall@company.com, lead@company.com")
        monkeypatch.setenv("ANALYTICS_SMTP_HOST", "127.0.0.1")
        _evaluate(instance, result, smtp)
    (message,) = inbox.messages
    assert message["To"] == "oncall@company.com, lead@company.com"
    assert message["Subject"].startswith("[analytics-assets] __ephemeral_asset_job__ failed")
    body = message.get_payload(decode=True).decode()
    assert result.run_id in body and "step flaky_table" in body and "ClickHouse said no" in body
