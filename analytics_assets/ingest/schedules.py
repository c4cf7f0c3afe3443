"""When the replicas refresh: hourly, and a daily content reconcile (the sensor: sensors.py)."""

from __future__ import annotations

import dagster as dg

from analytics_assets.ingest.jobs import ingest_job, ingest_reconcile_job

ingest_hourly_schedule = dg.ScheduleDefinition(
    name="ingest_hourly",
    job=ingest_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
)

ingest_reconcile_daily_schedule = dg.ScheduleDefinition(
    name="ingest_reconcile_daily",
    job=ingest_reconcile_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    description="Once a day: compare every replica with its source by content and repair what differs, "
    "and run every replica check.",
)
