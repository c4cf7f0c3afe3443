"""Tell people when something goes wrong: a failed run, a failed asset check (warn or error), a
freshness breach; each as one e-mail through the SMTP resource to ANALYTICS_ALERT_RECIPIENTS and
one JSON POST to ANALYTICS_ALERT_WEBHOOK_URL, whichever is set up.

Exactly once per channel. A failed run's alert is recorded on the run (tags
`analytics/failure_alert` for the mail, `analytics/failure_webhook` for the webhook: `sent` or
`unsent`); `failure_alerts_due` (sensors.py) tries the unsent ones again every five minutes. Checks and
freshness are read from the instance's event log by `data_quality_alerts`, whose cursor holds
where it has read to and the alerts a channel has not taken yet (tried again at each tick). A
check alerts when it starts failing, not at every failed evaluation after that, until it passes
again. An outage delays an alert but does not lose it, and no sensor raises (one that raised
would stop alerting). Every text is cleared of the configured secrets before it leaves."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from analytics_assets import settings
from analytics_assets.operations.webhook import WebhookError, post_json
from analytics_assets.resources.smtp import SmtpError, SmtpResource

ALERT_RECIPIENTS = settings.ALERT_RECIPIENTS
ALERT_TAG = "analytics/failure_alert"
WEBHOOK_TAG = "analytics/failure_webhook"
EMAIL, WEBHOOK = "email", "webhook"
MAX_PENDING = 500  # alerts kept for a channel that is down (oldest dropped past this, logged)
BATCH = 200  # events read per tick and kind


def alert_recipients() -> list[str]:
    return settings.alert_recipients()


def redact(text: str) -> str:
    for secret in settings.secret_values():
        text = text.replace(secret, "***")
    return text


@dataclass
class Alert:
    key: str  # stable: the run, or the event's storage id
    kind: str  # run_failure | check_failed | freshness_breach | web_anomalies
    subject: str
    body: str
    details: dict = field(default_factory=dict)
    channels: list[str] = field(default_factory=list)  # still to deliver

    def email(self, recipients: list[str]) -> EmailMessage:
        message = EmailMessage()
        message["To"] = ", ".join(recipients)
        message["Subject"] = redact(self.subject)
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:24]
        message["Message-ID"] = f"<alert.{digest}@analytics-assets>"  # a resend is recognisably the same
        message.set_content(redact(self.body))
        return message

    def payload(self) -> dict:
        """The webhook's JSON: `text` for Slack, the rest for anything else."""
        details = json.loads(redact(json.dumps(self.details, default=str)))
        return {"text": redact(f"{self.subject}\n{self.body}"), "kind": self.kind, "subject": redact(self.subject),
                "key": self.key, "details": details}


def _setting(log, read):
    """A setting's value, or None (logged) when it is malformed: a sensor that raised would stop
    alerting altogether."""
    try:
        return read()
    except settings.SettingError as exc:
        log.error(f"alerts: {exc}")
        return None


def channels(log, what: str, smtp: SmtpResource, recipients: list[str] | None = None) -> list[str]:
    """The channels set up for an alert (logged when none is)."""
    recipients = _setting(log, alert_recipients) if recipients is None else recipients
    found = ([EMAIL] if recipients and smtp.is_configured else []) + \
        ([WEBHOOK] if _setting(log, settings.alert_webhook_url) else [])
    if not found:
        log.info(f"{what}; no alert sent ({ALERT_RECIPIENTS} or {settings.SMTP['host']}, and "
                 f"{settings.ALERT_WEBHOOK_URL}, unset)")
    return found


def deliver(log, smtp: SmtpResource, alert: Alert, recipients: list[str] | None = None) -> list[str]:
    """Send `alert` on each of its channels; the channels that failed (logged, to try again). A
    channel no longer set up is dropped (logged): nothing could ever take its alerts."""
    recipients = _setting(log, alert_recipients) if recipients is None else recipients
    url = _setting(log, settings.alert_webhook_url)
    failed = []
    for channel in alert.channels:
        if not (recipients if channel == EMAIL else url):
            log.warning(f"the {alert.kind.replace('_', ' ')} alert {alert.key} is not sent by {channel}: "
                        "that channel is no longer set up")
            continue
        try:
            if channel == EMAIL:
                smtp.send(alert.email(recipients))
            else:
                post_json(url, alert.payload())
        except (SmtpError, WebhookError, settings.SettingError) as exc:
            log.error(f"could not send the {alert.kind.replace('_', ' ')} alert {alert.key} by {channel}: "
                      f"{redact(str(exc))}; it is tried again later")
            failed.append(channel)
    return failed


# --- failed runs -----------------------------------------------------------------------------

def failure_alert(run: dg.DagsterRun, step_failures: list, run_failure: str | None) -> Alert:
    lines, steps = [f"Run {run.run_id} of {run.job_name} failed.", ""], {}
    for event in step_failures:
        error = event.event_specific_data.error
        while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
            error = error.cause
        steps[event.step_key] = error.message.strip().splitlines()[0][:500] if error else "failed"
        lines.append(f"- step {event.step_key}: {steps[event.step_key]}")
    if not step_failures and run_failure:
        lines.append(run_failure[:1000])
    tags = {k: v for k, v in run.tags.items() if not k.startswith(".dagster") and k not in (ALERT_TAG, WEBHOOK_TAG)}
    lines += ["", "Tags: " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) if tags else ""]
    return Alert(key=f"run:{run.run_id}", kind="run_failure",
                 subject=f"[analytics-assets] {run.job_name} failed ({run.run_id[:8]})", body="\n".join(lines),
                 details={"run_id": run.run_id, "job": run.job_name, "steps": steps})


def send_run_alert(log, instance: dg.DagsterInstance, smtp: SmtpResource, run: dg.DagsterRun, alert: Alert) -> bool:
    """Send and tag the run with each channel's outcome; False when a channel failed."""
    failed = deliver(log, smtp, alert)
    for channel, tag in ((EMAIL, ALERT_TAG), (WEBHOOK, WEBHOOK_TAG)):
        if channel in alert.channels:
            instance.add_run_tags(run.run_id, {tag: "unsent" if channel in failed else "sent"})
    if EMAIL in failed:
        log.error(f"could not send the failure alert for run {run.run_id}; it is tried again later")
    return not failed


def run_alert(instance, run: dg.DagsterRun) -> Alert:
    steps = [r.dagster_event for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]
    failure = [r.dagster_event.message for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)]
    return failure_alert(run, steps, failure[-1] if failure else None)


# --- failed checks and freshness breaches ----------------------------------------------------

def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def check_alert(record) -> Alert:
    """The alert for a failed check execution (an AssetCheckExecutionRecord)."""
    evaluation = record.event.dagster_event.event_specific_data
    asset = evaluation.asset_key.to_user_string()
    severity = evaluation.severity.value.lower()
    metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}
    lines = [f"Check {evaluation.check_name} on {asset} failed ({severity}"
             f"{', blocking' if evaluation.blocking else ''}) at {_when(record.event.timestamp)}.",
             *(["", evaluation.description] if evaluation.description else []),
             *([""] + [f"- {k}: {str(v)[:500]}" for k, v in sorted(metadata.items())] if metadata else []),
             "", f"Run: {record.run_id}"]
    return Alert(key=f"check:{record.key.to_user_string()}:{record.id}", kind="check_failed",
                 subject=f"[analytics-assets] check {asset}:{evaluation.check_name} failed ({severity})",
                 body="\n".join(lines),
                 details={"asset": asset, "check": evaluation.check_name, "severity": severity,
                          "partition": evaluation.partition, "run_id": record.run_id, "metadata": metadata})


def freshness_alert(record, instance: dg.DagsterInstance) -> Alert:
    change = record.event_log_entry.dagster_event.event_specific_data
    asset = change.key.to_user_string()
    latest = instance.get_latest_materialization_event(change.key)
    last = _when(latest.timestamp) if latest else "never"
    return Alert(key=f"freshness:{record.storage_id}", kind="freshness_breach",
                 subject=f"[analytics-assets] {asset} is stale",
                 body=f"{asset} breached its freshness policy at {_when(change.state_change_timestamp)} "
                      f"(was {change.previous_state.value}); last materialized: {last}.",
                 details={"asset": asset, "state": change.new_state.value,
                          "previous_state": change.previous_state.value,
                          "since": _when(change.state_change_timestamp), "last_materialized": last})


def freshness_changes(instance: dg.DagsterInstance, after: int):
    return instance.event_log_storage.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.FRESHNESS_STATE_CHANGE, after_cursor=after),
        limit=BATCH, ascending=True)


def check_executions(instance: dg.DagsterInstance, keys, seen: dict[str, int]) -> dict:
    """Per check with news: its finished executions since `seen`, oldest first (every event-log
    storage answers this; the latest first, the history only for checks that ran again)."""
    storage = instance.event_log_storage
    found = {}
    for key, latest in storage.get_latest_asset_check_execution_by_key(list(keys)).items():
        name = key.to_user_string()
        if latest.id <= seen.get(name, 0):
            continue
        history = storage.get_asset_check_execution_history(
            key, limit=BATCH,
            status={AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED})
        found[name] = sorted((r for r in history if r.id > seen.get(name, 0)), key=lambda r: r.id)
    return found
