"""settings.py: the secrets the quarantine masks, and the landing quarantine's caps."""

from __future__ import annotations

import os

import pytest

from analytics_assets import settings
from analytics_assets.settings import SettingError


def test_every_configured_secret_is_collected_and_nothing_else(monkeypatch):
    for name in [n for n in os.environ if n.endswith("PASSWORD") or n in settings.SECRET_DSNS]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANALYTICS_SMTP_PASSWORD", "smtp-pw")
    monkeypatch.setenv("ANALYTICS_BI_PASSWORD", "bi-pw")
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_PASSWORD", "grafana-pw")  # Grafana's
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "dagster-pw")
    monkeypatch.setenv("PGPASSWORD", "libpq-pw")
    monkeypatch.setenv("ANALYTICS_POSTGRES_DSN", "host=db user=analytics password='pg pw' dbname=sales")
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", "https://bi:ch%2Fpw@ch.example.com:8443")
    monkeypatch.setenv("ANALYTICS_API_TOKENS", "reporting:tok-1, tok-2")
    monkeypatch.setenv("ANALYTICS_SMTP_USER", "reports")  # not a secret
    monkeypatch.setenv("ANALYTICS_EMPTY_PASSWORD", "")
    found = settings.secret_values("resource-pw", None)
    assert set(found) == {"smtp-pw", "bi-pw", "grafana-pw", "dagster-pw", "libpq-pw", "pg pw", "ch/pw",
                          "reporting:tok-1", "tok-1", "tok-2", "resource-pw"}
    assert [len(s) for s in found] == sorted((len(s) for s in found), reverse=True)  # longest first


@pytest.mark.parametrize("name, value, message", [
    ("ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES", "10", "must be a finite number >= 64"),
    ("ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES", "4k", "is not an integer"),
    ("ANALYTICS_LANDING_QUARANTINE_MAX_ROWS_PER_FILE", "-1", "must be a finite number >= 0"),
])
def test_quarantine_caps_refuse_bad_values_by_name(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=f"^{name}: '{value}' {message}"):
        settings.landing_quarantine_max_line_bytes() if "LINE" in name else settings.landing_quarantine_max_rows_per_file()


def test_alert_settings_name_the_variable_and_never_echo_the_webhook_url(monkeypatch):
    from analytics_assets import settings

    monkeypatch.setenv("ANALYTICS_ALERT_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/sEcReT")
    with pytest.raises(settings.SettingError) as caught:
        settings.alert_webhook_url()
    assert str(caught.value) == "ANALYTICS_ALERT_WEBHOOK_URL: not an http(s) URL with a host"
    monkeypatch.setenv("ANALYTICS_ALERT_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/sEcReT")
    assert settings.alert_webhook_url().endswith("/sEcReT")
    assert "https://hooks.slack.com/services/T0/B0/sEcReT" in settings.secret_values()
    monkeypatch.setenv("ANALYTICS_ANOMALY_RECIPIENTS", "web@company.com, nobody")
    with pytest.raises(settings.SettingError, match="^ANALYTICS_ANOMALY_RECIPIENTS: not e-mail addresses: 'nobody'$"):
        settings.anomaly_recipients()
    monkeypatch.setenv("ANALYTICS_ALERT_RECIPIENTS", " a@company.com,b@company.com ,")
    assert settings.alert_recipients() == ["a@company.com", "b@company.com"]
