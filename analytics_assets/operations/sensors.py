"""The operations sensors: failed runs, failed checks and freshness breaches as alerts (alerts.py
says how they are sent, exactly once per channel), and the automation sensor.

Declarative automation runs by default: the assets with an automation condition (datamarts with
`refresh_strategy: on_upstream_change`, each datamart's workbook) refresh when their sources do.
Dagster creates this sensor stopped when a code location does not define it; nothing would ever
refresh them then."""

from __future__ import annotations

import json
from dataclasses import asdict

import dagster as dg
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from analytics_assets.operations.alerts import (
    ALERT_TAG,
    EMAIL,
    MAX_PENDING,
    WEBHOOK,
    WEBHOOK_TAG,
    Alert,
    channels,
    check_alert,
    check_executions,
    deliver,
    failure_alert,
    freshness_alert,
    freshness_changes,
    run_alert,
    send_run_alert,
)
from analytics_assets.resources.smtp import SmtpResource


@dg.run_failure_sensor(name="run_failure_email", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="E-mails ANALYTICS_ALERT_RECIPIENTS (needs ANALYTICS_SMTP_*) and posts to "
                                   "ANALYTICS_ALERT_WEBHOOK_URL when a run fails.")
def run_failure_email(context: dg.RunFailureSensorContext, smtp: SmtpResource):
    run = context.dagster_run
    found = channels(context.log, f"run {run.run_id} failed", smtp)
    if not found:
        return
    alert = failure_alert(run, context.get_step_failure_events(), context.failure_event.message)
    alert.channels = found
    send_run_alert(context.log, context.instance, smtp, run, alert)


@dg.sensor(name="failure_alerts_due", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Sends again the failure alerts a channel refused (runs tagged "
                       "analytics/failure_alert=unsent or analytics/failure_webhook=unsent).")
def failure_alerts_due(context: dg.SensorEvaluationContext, smtp: SmtpResource):
    waiting: dict[str, tuple[dg.DagsterRun, list[str]]] = {}
    for channel, tag in ((EMAIL, ALERT_TAG), (WEBHOOK, WEBHOOK_TAG)):
        for run in context.instance.get_runs(filters=dg.RunsFilter(tags={tag: "unsent"}), limit=50):
            waiting.setdefault(run.run_id, (run, []))[1].append(channel)
    if not waiting:
        return dg.SkipReason("no failure alert waiting")
    ready = channels(context.log, "failure alerts waiting", smtp)
    if not ready:
        return dg.SkipReason(f"{len(waiting)} failure alert(s) waiting; alerts are not set up")
    sent = 0
    for run, due in reversed(list(waiting.values())):  # oldest first
        alert = run_alert(context.instance, run)
        alert.channels = [c for c in due if c in ready]
        if not alert.channels:
            continue
        if not send_run_alert(context.log, context.instance, smtp, run, alert):
            break  # a channel is still down: the rest wait for the next tick
        sent += 1
    return dg.SkipReason(f"sent {sent} of {len(waiting)} waiting failure alert(s)")


@dg.sensor(name="data_quality_alerts", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Mails ANALYTICS_ALERT_RECIPIENTS and posts to ANALYTICS_ALERT_WEBHOOK_URL when an asset "
                       "check starts failing (warn or error) or an asset breaches its freshness policy; reads "
                       "the instance's event log, never ClickHouse.")
def data_quality_alerts(context: dg.SensorEvaluationContext, smtp: SmtpResource):
    instance = context.instance
    keys = context.repository_def.asset_graph.asset_check_keys if context.repository_def else set()
    if not context.cursor:  # from now on: history is in the UI
        latest = instance.event_log_storage.get_maximum_record_id() or 0
        checks = {k.to_user_string(): r.id
                  for k, r in instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys)).items()}
        context.update_cursor(json.dumps({"checks": checks, "freshness": latest, "failing": [], "pending": []}))
        return dg.SkipReason(f"alerting on check executions and freshness changes after {latest}")
    state = json.loads(context.cursor)
    failing = set(state["failing"])
    pending = [Alert(**a) for a in state["pending"]]
    new = []
    for name, records in sorted(check_executions(instance, keys, state["checks"]).items()):
        for record in records:
            state["checks"][name] = record.id
            if record.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
                failing.discard(name)
            elif name not in failing:  # started failing
                failing.add(name)
                new.append(check_alert(record))
    for record in freshness_changes(instance, state["freshness"]):
        state["freshness"] = record.storage_id
        if record.event_log_entry.dagster_event.event_specific_data.new_state == FreshnessState.FAIL:
            new.append(freshness_alert(record, instance))
    for alert in new:
        alert.channels = channels(context.log, alert.subject, smtp)
    pending += [a for a in new if a.channels]
    sent = 0
    for alert in pending:
        failed = deliver(context.log, smtp, alert)
        sent += len(alert.channels) - len(failed)
        alert.channels = failed
    pending = [a for a in pending if a.channels]
    if len(pending) > MAX_PENDING:
        context.log.error(f"{len(pending) - MAX_PENDING} undelivered alert(s) dropped: a channel has been down "
                          f"for {len(pending)} alerts")
        pending = pending[-MAX_PENDING:]
    state.update(failing=sorted(failing), pending=[asdict(a) for a in pending])
    context.update_cursor(json.dumps(state))
    return dg.SkipReason(f"{len(new)} new alert(s), {sent} message(s) sent, {len(pending)} waiting")


automation_sensor = dg.AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Refreshes the assets with an automation condition (on_upstream_change datamarts and the "
                "datamart workbooks) after their sources change.",
)
