"""A failed run e-mails the people on call, through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json

import dagster as dg

from analytics_assets.operations.sensors import run_failure_email
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


# --- failed checks, freshness breaches, the webhook ---------------------------------------------

from datetime import datetime, timedelta, timezone  # noqa: E402

from dagster._core.test_utils import create_test_daemon_workspace_context, freeze_time  # noqa: E402
from dagster._core.workspace.load_target import ModuleTarget  # noqa: E402
from dagster._daemon.freshness import FreshnessDaemon  # noqa: E402

from analytics_assets.operations.sensors import data_quality_alerts, failure_alerts_due  # noqa: E402
from analytics_assets_tests.operations.alert_definitions import defs, hourly_table, orders_table  # noqa: E402
from analytics_assets_tests.support import REPO  # noqa: E402


class Sensor:
    """data_quality_alerts evaluated tick after tick, its cursor carried over as the daemon does."""

    def __init__(self, instance, smtp):
        self.instance, self.smtp, self.cursor = instance, smtp, None

    def tick(self):
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources={"smtp": self.smtp},
                                          definitions=defs)
        result = data_quality_alerts(context)
        self.cursor = context.cursor
        return result


def alerting(monkeypatch, webhook=None):
    monkeypatch.setenv("ANALYTICS_ALERT_RECIPIENTS", "oncall@company.com")
    monkeypatch.setenv("ANALYTICS_SMTP_HOST", "127.0.0.1")
    if webhook is not None:
        monkeypatch.setenv("ANALYTICS_ALERT_WEBHOOK_URL", webhook.url)


def orders(instance, passed: bool):
    dg.materialize([orders_table], instance=instance,
                   run_config={"ops": {"orders_table": {"config": {"passed": passed}}}})


def test_a_failing_warn_check_mails_and_posts_once_until_it_passes_again(smtp_server, webhook, monkeypatch):
    controller, inbox = smtp_server
    alerting(monkeypatch, webhook)
    with dg.instance_for_test() as instance:
        sensor = Sensor(instance, SmtpResource(host="127.0.0.1", port=controller.port, sender="alerts@company.com"))
        orders(instance, passed=False)  # before the sensor's first tick: history, not news
        sensor.tick()
        orders(instance, passed=True)
        sensor.tick()
        assert inbox.messages == [] and webhook.bodies == []
        orders(instance, passed=False)
        sensor.tick()
        sensor.tick()  # a second evaluation sends nothing more
        orders(instance, passed=False)  # still failing: no new alert
        sensor.tick()
        assert len(inbox.messages) == 1 and len(webhook.bodies) == 1
        orders(instance, passed=True)
        orders(instance, passed=False)  # failing again after passing: a new alert
        sensor.tick()
    first, second = inbox.messages
    assert first["Subject"] == "[analytics-assets] check orders_table:orphan_keys failed (warn)"
    body = first.get_payload(decode=True).decode()
    assert "- orphans: 3" in body and "sales whose customer is missing" in body
    assert first["Message-ID"] != second["Message-ID"]
    hook = webhook.bodies[0]
    assert hook["kind"] == "check_failed" and hook["details"]["check"] == "orphan_keys"
    assert hook["details"]["metadata"]["orphans"] == 3 and hook["text"].startswith(first["Subject"])
    assert len(webhook.bodies) == 2


def test_a_freshness_breach_found_by_the_freshness_daemon_alerts_once(smtp_server, webhook, monkeypatch):
    controller, inbox = smtp_server
    alerting(monkeypatch, webhook)
    target = ModuleTarget(module_name="analytics_assets_tests.operations.alert_definitions", attribute="defs",
                          working_directory=str(REPO), location_name="alerts")
    with dg.instance_for_test() as instance, create_test_daemon_workspace_context(target, instance) as workspace:
        def freshness_daemon():
            list(FreshnessDaemon().run_iteration(workspace))

        sensor = Sensor(instance, SmtpResource(host="127.0.0.1", port=controller.port, sender="alerts@company.com"))
        sensor.tick()
        dg.materialize([hourly_table], instance=instance)
        freshness_daemon()  # PASS
        sensor.tick()
        assert inbox.messages == []
        with freeze_time(datetime.now(timezone.utc) + timedelta(hours=2)):
            freshness_daemon()  # FAIL: two hours without a refresh
            freshness_daemon()  # no change, no event
        sensor.tick()
        sensor.tick()
    (message,) = inbox.messages
    assert message["Subject"] == "[analytics-assets] hourly_table is stale"
    assert "breached its freshness policy" in message.get_payload(decode=True).decode()
    (hook,) = webhook.bodies
    assert hook["kind"] == "freshness_breach" and hook["details"]["state"] == "FAIL"


def test_a_webhook_that_is_down_gets_the_alert_later_and_the_mail_is_not_sent_twice(smtp_server, webhook,
                                                                                     monkeypatch, capfd):
    controller, inbox = smtp_server
    alerting(monkeypatch, webhook)
    webhook.status = 500
    with dg.instance_for_test() as instance:
        sensor = Sensor(instance, SmtpResource(host="127.0.0.1", port=controller.port, sender="alerts@company.com"))
        sensor.tick()
        orders(instance, passed=False)
        capfd.readouterr()
        sensor.tick()
        logged = capfd.readouterr().err
        assert "by webhook: webhook 127.0.0.1: HTTP 500" in logged and "sEcReTtOkEn" not in logged
        assert len(inbox.messages) == 1 and webhook.bodies == []
        webhook.status = 200
        sensor.tick()
        sensor.tick()
    assert len(inbox.messages) == 1 and len(webhook.bodies) == 1
    assert "sEcReTtOkEn" not in json.dumps(webhook.bodies) + inbox.messages[0].as_string()


def test_a_failed_run_posts_one_json_body_and_a_refused_post_is_sent_by_failure_alerts_due(smtp_server, webhook,
                                                                                           monkeypatch):
    controller, inbox = smtp_server
    alerting(monkeypatch, webhook)
    smtp = SmtpResource(host="127.0.0.1", port=controller.port, sender="alerts@company.com")
    with dg.instance_for_test() as instance:
        webhook.status = 500
        result = dg.materialize([flaky_table], instance=instance, raise_on_error=False)
        _evaluate(instance, result, smtp)
        assert instance.get_run_by_id(result.run_id).tags["analytics/failure_webhook"] == "unsent"
        webhook.status = 200
        for _ in range(2):
            failure_alerts_due(dg.build_sensor_context(instance=instance, resources={"smtp": smtp}))
        tags = instance.get_run_by_id(result.run_id).tags
    assert tags["analytics/failure_webhook"] == "sent" and tags["analytics/failure_alert"] == "sent"
    assert len(inbox.messages) == 1
    (hook,) = webhook.bodies
    assert hook["kind"] == "run_failure" and hook["details"]["run_id"] == result.run_id
    assert "ClickHouse said no" in hook["details"]["steps"]["flaky_table"]
