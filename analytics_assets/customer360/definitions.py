"""The customer360 domain: customer_360 and the sales cohorts, their job and schedule."""

import dagster as dg

from analytics_assets.customer360.assets import customer360_assets
from analytics_assets.customer360.jobs import customer_360_job
from analytics_assets.customer360.schedules import customer_360_hourly_schedule
from analytics_assets.warehouse import registry

defs = registry.claim("customer360", dg.Definitions(
    assets=customer360_assets,
    jobs=[customer_360_job],
    schedules=[customer_360_hourly_schedule],
))
