"""The sales domain: sales_fact and the dashboard marts, their checks, jobs, schedules and sensors,
and the internal tables the fact's refresh keeps."""

import dagster as dg

from analytics_assets.sales.assets import mart_assets, sales_fact
from analytics_assets.sales.checks import VERIFIED, sales_checks
from analytics_assets.sales.fact import DAILY, STATE
from analytics_assets.sales.jobs import hourly_refresh_job, sales_dashboard_job
from analytics_assets.sales.marts import LAST_7_DAYS
from analytics_assets.sales.schedules import hourly_refresh_schedule, sales_dashboard_hourly_schedule
from analytics_assets.sales.sensors import sales_dashboard_after_ingest, source_changed_refresh
from analytics_assets.warehouse import registry

defs = registry.claim("sales", dg.Definitions(
    assets=[sales_fact, *mart_assets],
    asset_checks=sales_checks,
    jobs=[hourly_refresh_job, sales_dashboard_job],
    schedules=[hourly_refresh_schedule, sales_dashboard_hourly_schedule],
    sensors=[source_changed_refresh, sales_dashboard_after_ingest],
), internal=[STATE, DAILY, VERIFIED, LAST_7_DAYS])
