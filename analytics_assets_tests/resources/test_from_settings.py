"""The code location's resources and executor come from the settings once: a set variable becomes
a dagster.EnvVar (the UI shows its name, never its value), an unset one leaves the default; the
one ClickHouse target decides the executor and the pool."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._config.field_utils import IntEnvVar

from analytics_assets import settings
from analytics_assets.resources import executor_for_target, resources_from_settings
from analytics_assets.resources.clickhouse import CHDB_POOL, clickhouse_pool

VARIABLES = [settings.POSTGRES_DSN, settings.CLICKHOUSE_DSN, settings.CLICKHOUSE_DATABASE, *settings.SMTP.values()]


@pytest.fixture
def unset(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_set_variables_become_env_vars_named_not_valued(unset):
    unset.setenv(settings.POSTGRES_DSN, "postgresql://u:pgValue-secret@db:5432/sales")
    unset.setenv(settings.CLICKHOUSE_DSN, "http://u:chValue-secret@ch:8123")
    unset.setenv(settings.SMTP["host"], "mail.example.com")
    unset.setenv(settings.SMTP["port"], "2525")
    unset.setenv(settings.SMTP["password"], "smtpValue-secret")
    resources = resources_from_settings()
    fields = {"postgres.dsn": resources["postgres"].dsn, "clickhouse.dsn": resources["clickhouse"].dsn,
              "smtp.host": resources["smtp"].host, "smtp.port": resources["smtp"].port,
              "smtp.password": resources["smtp"].password}
    assert all(isinstance(value, (dg.EnvVar, IntEnvVar)) for value in fields.values()), fields
    assert {k: v.env_var_name if isinstance(v, dg.EnvVar) else v.name for k, v in fields.items()} == {
        "postgres.dsn": settings.POSTGRES_DSN, "clickhouse.dsn": settings.CLICKHOUSE_DSN,
        "smtp.host": "ANALYTICS_SMTP_HOST", "smtp.port": "ANALYTICS_SMTP_PORT",
        "smtp.password": "ANALYTICS_SMTP_PASSWORD"}
    assert "Value-secret" not in repr(resources)
    assert resources["smtp"].process_config_and_initialize().port == 2525  # an integer variable


def test_unset_variables_keep_the_defaults(unset):
    resources = resources_from_settings()
    assert resources["postgres"].dsn is None and resources["clickhouse"].dsn is None
    assert resources["clickhouse"].database is None
    assert resources["smtp"].host is None and resources["smtp"].tls == "none"
    assert not resources["smtp"].is_configured


@pytest.mark.parametrize("dsn, executor, pool", [
    ("chdb:///tmp/analytics-clickhouse", dg.in_process_executor.name, CHDB_POOL),
    ("http://default@clickhouse:8123", dg.multiprocess_executor.name, None),
])
def test_the_one_clickhouse_target_decides_the_executor_and_the_pool(unset, dsn, executor, pool):
    unset.setenv(settings.CLICKHOUSE_DSN, dsn)
    target = settings.clickhouse_target()
    assert target.embedded is dsn.startswith("chdb:")
    assert executor_for_target().name == executor_for_target(target).name == executor
    assert clickhouse_pool() == pool


def test_the_resource_and_the_settings_answer_the_same_target(unset, tmp_path):
    from analytics_assets.resources import ClickHouseResource

    unset.setenv(settings.DATA_DIR, str(tmp_path))
    unset.setenv(settings.CLICKHOUSE_DATABASE, "marts")
    assert ClickHouseResource().target() == settings.clickhouse_target() == settings.ClickHouseTarget(
        dsn=f"chdb://{tmp_path / 'clickhouse'}", database="marts")
    assert ClickHouseResource(dsn="chdb:///elsewhere", database="other").target() == settings.ClickHouseTarget(
        dsn="chdb:///elsewhere", database="other")
