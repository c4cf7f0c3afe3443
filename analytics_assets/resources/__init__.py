"""One resource per external system, built from the settings once (`resources_from_settings`),
and the executor the one ClickHouse target allows (`executor_for_target`)."""

from __future__ import annotations

import dagster as dg

from analytics_assets import settings
from analytics_assets.default_partition import with_default_partition
from analytics_assets.resources.clickhouse import ClickHouseResource, Warehouse
from analytics_assets.resources.postgres import PostgresResource
from analytics_assets.resources.smtp import SmtpResource

__all__ = ["ClickHouseResource", "PostgresResource", "SmtpResource", "Warehouse", "executor_for_target",
           "resources_from_settings"]


def _from_env(name: str, *, integer: bool = False) -> dg.EnvVar | None:
    """An EnvVar when the variable is set (the UI shows the name, never the value), else None: the
    field keeps its default."""
    if not settings.is_set(name):
        return None
    return dg.EnvVar.int(name) if integer else dg.EnvVar(name)


def resources_from_settings() -> dict[str, dg.ConfigurableResource]:
    """The code location's resources: postgres, smtp (ANALYTICS_SMTP_*) and clickhouse."""
    smtp = {name: _from_env(var, integer=name == "port") for name, var in settings.SMTP.items()}
    return {
        "postgres": PostgresResource(dsn=_from_env(settings.POSTGRES_DSN)),
        "smtp": SmtpResource(**{name: value for name, value in smtp.items() if value is not None}),
        "clickhouse": ClickHouseResource(
            dsn=_from_env(settings.CLICKHOUSE_DSN), database=_from_env(settings.CLICKHOUSE_DATABASE)
        ),
    }


def executor_for_target(target: settings.ClickHouseTarget | None = None) -> dg.ExecutorDefinition:
    """chDB is one process at a time: steps run in the run's own process, one after another.
    Against a ClickHouse server, steps run in parallel processes. A partitioned job run without a
    partition runs for the logical day (default_partition.py)."""
    target = target or settings.clickhouse_target()
    return with_default_partition(dg.in_process_executor if target.embedded else dg.multiprocess_executor)
