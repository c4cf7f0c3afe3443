"""Segments are rebuilt every morning (the original Airflow examples' 02:00), for the tick's logical time."""

import dagster as dg

from analytics_assets.customers.jobs import customer_segmentation_job

customer_segmentation_daily_schedule = dg.ScheduleDefinition(
    name="customer_segmentation_daily",
    job=customer_segmentation_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
)
