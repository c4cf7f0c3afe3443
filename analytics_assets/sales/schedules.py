"""When the dashboards refresh: the hourly refresh, and sales_dashboard_job's own hourly schedule."""

import dagster as dg

from analytics_assets.sales.jobs import hourly_refresh_job, sales_dashboard_job

hourly_refresh_schedule = dg.ScheduleDefinition(
    name="hourly_refresh",
    job=hourly_refresh_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    description="hourly_refresh_job at the top of every hour (its logical time is the tick).",
)

sales_dashboard_hourly_schedule = dg.ScheduleDefinition(
    name="sales_dashboard_hourly",
    job=sales_dashboard_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
)
