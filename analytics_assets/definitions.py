"""Assembles the code location; nothing else."""

from __future__ import annotations

import os

import dagster as dg

from analytics_assets import settings
from analytics_assets.ingest.assets import replica_assets
from analytics_assets.ingest.checks import replica_checks
from analytics_assets.ingest.schedules import ingest_hourly_schedule, ingest_job, ingest_reconcile_daily_schedule
from analytics_assets.ingest.sensors import source_changed_sensor
from analytics_assets.resources import ClickHouseResource, PostgresResource


def _from_env(name: str):
    """An EnvVar when the variable is set (the UI shows the name, never the value), else None."""
    return dg.EnvVar(name) if os.environ.get(name) else None


defs = dg.Definitions(
    assets=[*replica_assets],
    asset_checks=[*replica_checks],
    jobs=[ingest_job],
    schedules=[ingest_hourly_schedule, ingest_reconcile_daily_schedule],
    sensors=[source_changed_sensor],
    resources={
        "postgres": PostgresResource(dsn=_from_env(settings.POSTGRES_DSN)),
        "clickhouse": ClickHouseResource(
            dsn=_from_env(settings.CLICKHOUSE_DSN), database=_from_env(settings.CLICKHOUSE_DATABASE)
        ),
    },
    # chDB is one process at a time: steps run in the run's own process, one after another.
    # Against a ClickHouse server, steps run in parallel processes.
    executor=dg.in_process_executor
    if settings.is_chdb(settings.clickhouse_dsn())
    else dg.multiprocess_executor,
)
