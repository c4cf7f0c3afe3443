"""Tell people when a run fails: an e-mail through the SMTP resource to ANALYTICS_ALERT_RECIPIENTS.

Without recipients or an SMTP host nothing is sent (the failure is still in the UI); a send that
fails is logged by the sensor, never retried into a loop."""

import os
from email.message import EmailMessage

import dagster as dg

from analytics_assets import settings
from analytics_assets.resources.smtp import SmtpError, SmtpResource

ALERT_RECIPIENTS = "ANALYTICS_ALERT_RECIPIENTS"


def alert_recipients() -> list[str]:
    return [r.strip() for r in (os.environ.get(ALERT_RECIPIENTS) or "").split(",") if r.strip()]


def failure_message(context: dg.RunFailureSensorContext, recipients: list[str]) -> EmailMessage:
    run = context.dagster_run
    steps = [e for e in context.get_step_failure_events()]
    lines = [f"Run {run.run_id} of {run.job_name} failed.", ""]
    for event in steps:
        error = event.event_specific_data.error
        while error is not None and error.cause is not None:  # the root cause, not Dagster's wrapper
            error = error.cause
        lines.append(f"- step {event.step_key}: {error.message.strip().splitlines()[0][:500] if error else 'failed'}")
    if not steps and context.failure_event.message:
        lines.append(context.failure_event.message[:1000])
    tags = {k: v for k, v in run.tags.items() if not k.startswith(".dagster")}
    lines += ["", "Tags: " + ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) if tags else ""]
    message = EmailMessage()
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"[analytics-assets] {run.job_name} failed ({run.run_id[:8]})"
    message.set_content("\n".join(lines))
    return message


@dg.run_failure_sensor(name="run_failure_email", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="E-mails ANALYTICS_ALERT_RECIPIENTS when a run fails (needs ANALYTICS_SMTP_*).")
def run_failure_email(context: dg.RunFailureSensorContext, smtp: SmtpResource):
    recipients = alert_recipients()
    if not recipients or not os.environ.get(settings.SMTP["host"]):
        context.log.info(f"run {context.dagster_run.run_id} failed; no alert sent ({ALERT_RECIPIENTS} or "
                         f"{settings.SMTP['host']} unset)")
        return
    try:
        smtp.send(failure_message(context, recipients))
    except SmtpError as exc:
        context.log.error(f"could not send the failure alert for run {context.dagster_run.run_id}: {exc}")
