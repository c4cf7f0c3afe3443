"""The anomalies of the last complete hour of web metrics, mailed to ANALYTICS_ANOMALY_RECIPIENTS
and posted to ANALYTICS_ALERT_WEBHOOK_URL by the `website_metrics_anomalies` step that found them.

"Last complete hour" is the hour before the run's logical time (the hourly schedule's tick), so
a rerun looks at the same hour. Exactly once per hour and recipient (the webhook counts as one),
through the report delivery log (`report_deliveries`, report `website_metrics_anomalies`); an
hour that could not go out is tried again by the next run, for a day. A failed send never fails
the step: the table is right, and the failure is in the step's metadata and log."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from analytics_assets import settings
from analytics_assets.operations.alerts import Alert, redact
from analytics_assets.operations.webhook import post_json
from analytics_assets.reports import delivery

REPORT = "website_metrics_anomalies"
WEBHOOK = "webhook"
RETRY_HOURS = 24

ANOMALIES_OF_HOUR = """
SELECT hour, metric_name, aggregation, value, baseline_mean, z_score, threshold
FROM website_metrics_anomalies
WHERE status = 'ANOMALY' AND hour = {hour:DateTime('UTC')}
ORDER BY metric_name
"""


def last_complete_hour(as_of: datetime) -> datetime:
    return as_of.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def anomaly_alert(hour: datetime, rows: list[tuple]) -> Alert:
    lines = [f"{len(rows)} web metric(s) out of their usual range at {hour:%Y-%m-%d %H:00} UTC "
             "(against the same hour of the week over the previous 8 weeks):", ""]
    found = []
    for _, metric, aggregation, value, mean, z, threshold in rows:
        z_text = "flat baseline" if z is None else f"z = {z:+.2f}"
        mean_text = "none" if mean is None else f"{mean:g}"
        lines.append(f"- {metric}: {value:g} ({aggregation}), usual {mean_text}, {z_text} (threshold {threshold:g})")
        found.append({"metric_name": metric, "aggregation": aggregation, "value": value, "baseline_mean": mean,
                      "z_score": z, "threshold": threshold})
    return Alert(key=f"anomalies:{hour.isoformat()}", kind="web_anomalies",
                 subject=f"[analytics-assets] {len(rows)} web metric anomal{'y' if len(rows) == 1 else 'ies'} at "
                         f"{hour:%Y-%m-%d %H:00} UTC",
                 body="\n".join(lines), details={"hour": hour.isoformat(), "anomalies": found})


def send_anomaly_alerts(wh, smtp, as_of: datetime, log) -> dict:
    """Send the last complete hour's anomalies (and any hour of the last day that did not go out);
    what happened, as step metadata."""
    try:
        recipients = settings.anomaly_recipients() if smtp.is_configured else []
        url = settings.alert_webhook_url()
    except settings.SettingError as exc:  # the table is right: say so, do not fail it
        log.error(f"anomaly alert not sent: {exc}")
        return {"anomaly_alert": f"not sent: {exc}"}
    if not recipients and not url:
        return {"anomaly_alert": f"not set up ({settings.ANOMALY_RECIPIENTS} with {settings.SMTP['host']}, or "
                                 f"{settings.ALERT_WEBHOOK_URL})"}
    hour = last_complete_hour(as_of)
    delivery.ensure_log(wh)
    hours = {hour} | {datetime.fromisoformat(p) for (p,) in wh.rows(
        f"SELECT DISTINCT period FROM {delivery.LOG} FINAL WHERE report = {{r:String}} AND status != 'sent' "
        "AND period >= {since:String} AND period < {hour:String}",
        {"r": REPORT, "since": (hour - timedelta(hours=RETRY_HOURS)).isoformat(), "hour": hour.isoformat()})}
    outcome = {}
    for when in sorted(hours):
        rows = wh.rows(ANOMALIES_OF_HOUR, {"hour": when})
        if not rows:
            outcome[when.isoformat()] = "no anomaly"
            continue
        alert = anomaly_alert(when, rows)
        period = when.isoformat()
        sha = hashlib.sha256(alert.body.encode()).hexdigest()
        states = delivery.delivery_states(wh, REPORT, period)
        results = [delivery.send_once(
            wh, states, report=REPORT, period=period, recipient=r, file_name="", sha=sha,
            mid=delivery.message_id(REPORT, when.strftime("%Y%m%dT%H"), r),
            send=lambda r=r: smtp.send(_message(alert, r))) for r in recipients]
        if url:
            results.append(delivery.send_once(wh, states, report=REPORT, period=period, recipient=WEBHOOK,
                                              file_name="", sha=sha, mid="",
                                              send=lambda: post_json(url, alert.payload())))
        for d in results:
            if d.status == "failed":
                who = "the webhook" if d.recipient == WEBHOOK else d.recipient
                log.error(f"could not send the anomaly alert of {period} to {who}: "
                          f"{redact(d.error)}; the next run tries again")
        outcome[period] = "; ".join(f"{d.recipient}: {d.status}" for d in results)
    return {f"anomaly_alert {k}": v for k, v in outcome.items()}


def _message(alert: Alert, recipient: str):
    message = alert.email([recipient])
    del message["Message-ID"]
    hour = alert.key.split(":", 1)[1]
    message["Message-ID"] = delivery.message_id(REPORT, datetime.fromisoformat(hour).strftime("%Y%m%dT%H"), recipient)
    return message
