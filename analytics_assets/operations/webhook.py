"""The second alert channel: one JSON POST per alert to ANALYTICS_ALERT_WEBHOOK_URL (a Slack
incoming webhook reads its `text`). Errors name the host only: the URL's path is a secret."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

TIMEOUT_S = 10


class WebhookError(RuntimeError):
    """The webhook did not take the alert; names the host and the cause, never the URL."""


def post_json(url: str, payload: dict, *, timeout: float = TIMEOUT_S) -> None:
    host = urlsplit(url).hostname
    request = urllib.request.Request(url, data=json.dumps(payload, default=str).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"webhook {host}: HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(f"webhook {host}: {type(exc).__name__}: {str(reason).replace(url, '***')}") from None
