"""The customers domain: RFM, clusters, CLV and the segments, the model check, the daily job."""

import dagster as dg

from analytics_assets.customers.assets import customer_assets
from analytics_assets.customers.checks import customer_checks
from analytics_assets.customers.jobs import customer_segmentation_job
from analytics_assets.customers.schedules import customer_segmentation_daily_schedule
from analytics_assets.warehouse import registry

defs = registry.claim("customers", dg.Definitions(
    assets=customer_assets,
    asset_checks=customer_checks,
    jobs=[customer_segmentation_job],
    schedules=[customer_segmentation_daily_schedule],
))
