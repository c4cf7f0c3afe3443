"""E-mail delivery of a report file, exactly once per report, period and recipient.

The log `report_deliveries` in ClickHouse holds each recipient's state. A recipient already
`sent` is skipped, so a rerun or a retried run sends nothing new. A refused or failed send is
logged `failed` with the error and retried by the next attempt; the file stays on disk. Each
message has a Message-ID made of report, period and recipient: if a process dies between the
server accepting a message and the log saying so (`sending` left behind), the retry sends the
same Message-ID, which mail systems recognise as the same message.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

from analytics_assets.resources.smtp import SmtpError
from analytics_assets.warehouse.sql import run_script, sql_file

LOG = "report_deliveries"


@dataclass(frozen=True)
class Delivery:
    recipient: str
    status: str  # sent | already sent | failed
    attempts: int
    message_id: str
    error: str = ""


class DeliveryFailed(RuntimeError):
    pass


def message_id(report: str, period: str, recipient: str) -> str:
    digest = hashlib.sha256(f"{report}\0{period}\0{recipient}".encode()).hexdigest()[:24]
    return f"<{report}.{period}.{digest}@analytics-assets>"


def _states(wh, report: str, period: str) -> dict[str, tuple[str, int]]:
    return {r: (s, int(a)) for r, s, a in wh.rows(
        f"SELECT recipient, status, attempts FROM {LOG} FINAL WHERE report = {{r:String}} AND period = {{p:String}}",
        {"r": report, "p": period})}


def _log(wh, rows: list[tuple]) -> None:
    now = datetime.now(timezone.utc)
    wh.insert_rows(LOG, [(*row, now) for row in rows],
                   ["report", "period", "recipient", "file_name", "file_sha256", "message_id", "status", "attempts",
                    "error", "updated_at"])


def deliver(wh, smtp, *, report: str, period: str, path: Path, recipients: tuple[str, ...], subject: str,
            body: str) -> list[Delivery]:
    """Mail `path` to every recipient not yet served for (report, period); raise DeliveryFailed
    naming those that could not be served this time (they are logged and retried next time)."""
    ensure_log(wh)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    states = _states(wh, report, period)
    results: list[Delivery] = []
    for recipient in recipients:
        mid = message_id(report, period, recipient)
        results.append(send_once(wh, states, report=report, period=period, recipient=recipient, file_name=path.name,
                                 sha=sha, mid=mid,
                                 send=lambda r=recipient, m=mid: smtp.send(_message(r, m, subject, body, path.name,
                                                                                      data))))
    failed = [d for d in results if d.status == "failed"]
    if failed:
        raise DeliveryFailed(f"{report} {period}: not delivered to " + "; ".join(
            f"{d.recipient} (attempt {d.attempts}: {d.error})" for d in failed) + f"; the file stays at {path}")
    return results


def ensure_log(wh) -> None:
    run_script(wh, sql_file(__file__, LOG), table=LOG)


def delivery_states(wh, report: str, period: str) -> dict[str, tuple[str, int]]:
    """Each recipient's state for (report, period) (the log must exist: ensure_log)."""
    return _states(wh, report, period)


def send_once(wh, states: dict, *, report: str, period: str, recipient: str, file_name: str, sha: str, mid: str,
              send) -> Delivery:
    """`send()` unless the log says `recipient` was served for (report, period); the outcome logged.
    `send` raises SmtpError or WebhookError when it could not hand the message over."""
    from analytics_assets.operations.webhook import WebhookError

    status, attempts = states.get(recipient, ("", 0))
    if status == "sent":
        return Delivery(recipient, "already sent", attempts, mid)
    attempts += 1
    _log(wh, [(report, period, recipient, file_name, sha, mid, "sending", attempts, "")])
    try:
        send()
    except (SmtpError, WebhookError) as exc:
        _log(wh, [(report, period, recipient, file_name, sha, mid, "failed", attempts, str(exc))])
        return Delivery(recipient, "failed", attempts, mid, str(exc))
    _log(wh, [(report, period, recipient, file_name, sha, mid, "sent", attempts, "")])
    return Delivery(recipient, "sent", attempts, mid)


def _message(recipient: str, mid: str, subject: str, body: str, filename: str, data: bytes) -> EmailMessage:
    message = EmailMessage()
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = mid
    message.set_content(body)
    kind, _ = mimetypes.guess_type(filename)
    maintype, subtype = (kind or "application/octet-stream").split("/", 1)
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message
