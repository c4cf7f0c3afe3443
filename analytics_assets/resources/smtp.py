"""SMTP, for report delivery: one resource configured from ANALYTICS_SMTP_* (secrets through
`dagster.EnvVar`). Errors name the server and never the password."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import dagster as dg
from pydantic import Field

from analytics_assets.settings import SMTP, SettingError, smtp_values

TLS_MODES = ("none", "starttls", "ssl")


class SmtpError(RuntimeError):
    """A message could not be handed to the server; the message names server and cause."""


class SmtpResource(dg.ConfigurableResource):
    host: str | None = Field(default=None, description="SMTP server; env ANALYTICS_SMTP_HOST")
    port: int | None = Field(default=None, description="default 25, 587 for starttls, 465 for ssl")
    user: str | None = Field(default=None, description="login user, if the server wants one")
    password: str | None = Field(default=None, description="login password (use an EnvVar)")
    sender: str | None = Field(default=None, description="From: address; env ANALYTICS_SMTP_SENDER")
    tls: str = Field(default="none", description="none | starttls | ssl")
    timeout_s: float = Field(default=30.0, description="connect and command timeout")

    @classmethod
    def from_env(cls) -> "SmtpResource":
        """Resolved from ANALYTICS_SMTP_* now (for the command line; runs use dagster.EnvVar)."""
        values: dict = smtp_values()
        if "port" in values:
            try:
                values["port"] = int(values["port"])
            except ValueError:
                raise SettingError(f"{SMTP['port']}: {values['port']!r} is not a port number") from None
        return cls(**values)

    @property
    def is_configured(self) -> bool:
        """Whether there is a server to send through (a host); without one nothing can go out."""
        return bool(self.host)

    def _settings(self) -> tuple[str, int, str]:
        if not self.host:
            raise SettingError("ANALYTICS_SMTP_HOST: not set: no SMTP server to deliver reports through")
        if self.tls not in TLS_MODES:
            raise SettingError(f"ANALYTICS_SMTP_TLS: {self.tls!r} is not one of {', '.join(TLS_MODES)}")
        if not self.sender or "@" not in self.sender:
            raise SettingError(f"ANALYTICS_SMTP_SENDER: {self.sender!r} is not an e-mail address")
        port = self.port or {"none": 25, "starttls": 587, "ssl": 465}[self.tls]
        return self.host, port, self.sender

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server (raises SmtpError naming the server and the cause)."""
        host, port, sender = self._settings()
        if "From" not in message:
            message["From"] = sender
        where = f"SMTP {host}:{port}"
        try:
            if self.tls == "ssl":
                client = smtplib.SMTP_SSL(host, port, timeout=self.timeout_s, context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(host, port, timeout=self.timeout_s)
            with client:
                if self.tls == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            reason = str(exc)
            if self.password:
                reason = reason.replace(self.password, "***")
            raise SmtpError(f"{where}: {type(exc).__name__}: {reason}") from None
