"""customer_360 and the sales cohorts each hour, at 20 past."""

import dagster as dg

from analytics_assets.customer360.jobs import customer_360_job

customer_360_hourly_schedule = dg.ScheduleDefinition(
    name="customer_360_hourly", job=customer_360_job, cron_schedule="20 * * * *", execution_timezone="UTC")
