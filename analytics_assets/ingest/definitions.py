"""The ingest domain: the raw replicas, their checks, jobs, schedules and sensor."""

import dagster as dg

from analytics_assets.ingest.assets import replica_assets
from analytics_assets.ingest.checks import replica_checks
from analytics_assets.ingest.jobs import ingest_job, ingest_reconcile_job
from analytics_assets.ingest.replicate import WATERMARKS
from analytics_assets.ingest.schedules import ingest_hourly_schedule, ingest_reconcile_daily_schedule
from analytics_assets.ingest.sensors import source_changed_sensor
from analytics_assets.warehouse import registry

defs = registry.claim("ingest", dg.Definitions(
    assets=replica_assets,
    asset_checks=replica_checks,
    jobs=[ingest_job, ingest_reconcile_job],
    schedules=[ingest_hourly_schedule, ingest_reconcile_daily_schedule],
    sensors=[source_changed_sensor],
), internal=[WATERMARKS])
