"""When the replicas refresh: hourly, a daily key reconciliation, and on source changes."""

from __future__ import annotations

import dagster as dg

from analytics_assets.ingest.assets import INGEST_GROUP, ReplicaConfig
from analytics_assets.ingest.sources import SOURCE_TABLES

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    description="Bring the raw replicas up to date with the source (incremental).",
)

ingest_hourly_schedule = dg.ScheduleDefinition(
    name="ingest_hourly",
    job=ingest_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
)

ingest_reconcile_daily_schedule = dg.ScheduleDefinition(
    name="ingest_reconcile_daily",
    job=ingest_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    run_config=dg.RunConfig(
        ops={table.replica: ReplicaConfig(reconcile_deletes=True) for table in SOURCE_TABLES}
    ),
    description="Once a day, also read every source key so hard deletes disappear from the replicas.",
)
