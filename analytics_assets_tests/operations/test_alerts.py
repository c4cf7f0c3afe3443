"""A failed run e-mails the people on call, through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import dagster as dg

from analytics_assets.operations.alerts import run_failure_email
from analytics_assets.resources.smtp import SmtpResource


@dg.asset
def flaky_table():
    raise RuntimeError("ClickHouse said no")


def _evaluate(instance, result, smtp):
    (record,) = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_email.name, dagster_instance=instance, dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=record.event_log_entry.dagster_event, resources={"smtp": smtp}).for_run_failure()
    run_failure_email(context)


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
