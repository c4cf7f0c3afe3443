"""Tell people when a run fails: an e-mail through the SMTP resource to ANALYTICS_ALERT_RECIPIENTS.

Without recipients or an SMTP host nothing is sent (the failure is still in the UI). A send that
fails (the mail server is down) is logged and the run is tagged `analytics/failure_alert=unsent`;
`failure_alerts_due` tries those runs again every five minutes and tags them `sent`, so an outage
delays an alert but does not lose it, and no sensor raises (one that raised would stop alerting)."""

import os
from email.message import EmailMessage

import dagster as dg

from analytics_assets import settings
from analytics_assets.resources.smtp import SmtpError, SmtpResource

ALERT_RECIPIENTS = "ANALYTICS_ALERT_RECIPIENTS"
ALERT_TAG = "analytics/failure_alert"


def alert_recipients() -> list[str]:
    return [r.strip() for r in (os.environ.get(ALERT_RECIPIENTS) or "").split(",") if r.strip()]


def failure_message(run: dg.DagsterRun, step_failures: list, run_failure: str | None,
                    recipients: list[str]) -> EmailMessage:
    """The alert: the job, the run id, and each failed step's root error (not Dagster's wrapper)."""
    lines = [f"Run {run.run_id} of {run.job_name} failed.", ""]
    for event in step_failures:
        error = event.event_specific_data.error
        while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
            error = error.cause
        lines.append(f"- step {event.step_key}: {error.message.strip().splitlines()[0][:500] if error else 'failed'}")
    if not step_failures and run_failure:
        lines.append(run_failure[:1000])
    tags = {k: v for k, v in run.tags.items() if not k.startswith(".dagster") and k != ALERT_TAG}
    lines += ["", "Tags: " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) if tags else ""]
    message = EmailMessage()
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"[analytics-assets] {run.job_name} failed ({run.run_id[:8]})"
    message.set_content("\n".join(lines))
    return message


def _send(log, instance: dg.DagsterInstance, smtp: SmtpResource, run: dg.DagsterRun, message: EmailMessage) -> bool:
    """Send the alert and tag the run with the outcome; False (logged) when the server failed."""
    try:
        smtp.send(message)
    except SmtpError as exc:
        log.error(f"could not send the failure alert for run {run.run_id}: {exc}; it is tried again later")
        instance.add_run_tags(run.run_id, {ALERT_TAG: "unsent"})
        return False
    instance.add_run_tags(run.run_id, {ALERT_TAG: "sent"})
    return True


def _alerting(log, run_id: str | None = None) -> list[str] | None:
    """The recipients, or None (logged) when alerts are not set up."""
    recipients = alert_recipients()
    if not recipients or not os.environ.get(settings.SMTP["host"]):
        log.info(f"{f'run {run_id} failed; ' if run_id else ''}no alert sent ({ALERT_RECIPIENTS} or "
                 f"{settings.SMTP['host']} unset)")
        return None
    return recipients


@dg.run_failure_sensor(name="run_failure_email", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="E-mails ANALYTICS_ALERT_RECIPIENTS when a run fails (needs ANALYTICS_SMTP_*).")
def run_failure_email(context: dg.RunFailureSensorContext, smtp: SmtpResource):
    run = context.dagster_run
    recipients = _alerting(context.log, run.run_id)
    if recipients is None:
        return
    message = failure_message(run, context.get_step_failure_events(), context.failure_event.message, recipients)
    _send(context.log, context.instance, smtp, run, message)


@dg.sensor(name="failure_alerts_due", minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Sends again the failure alerts the mail server refused (runs tagged "
                       "analytics/failure_alert=unsent).")
def failure_alerts_due(context: dg.SensorEvaluationContext, smtp: SmtpResource):
    runs = context.instance.get_runs(filters=dg.RunsFilter(tags={ALERT_TAG: "unsent"}), limit=50)
    if not runs:
        return dg.SkipReason("no failure alert waiting")
    recipients = _alerting(context.log)
    if recipients is None:
        return dg.SkipReason(f"{len(runs)} failure alert(s) waiting; alerts are not set up")
    sent = 0
    for run in reversed(runs):  # oldest first
        steps = [r.dagster_event for r in context.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]
        failure = [r.dagster_event.message for r in context.instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)]
        if not _send(context.log, context.instance, smtp, run,
                     failure_message(run, steps, failure[-1] if failure else None, recipients)):
            break  # the server is still down: the rest wait for the next tick
        sent += 1
    return dg.SkipReason(f"sent {sent} of {len(runs)} waiting failure alert(s)")
