"""The sales jobs: the hourly refresh (ingest to customer_360 in one run), and sales_dashboard_job
for running the sales part by hand."""

import dagster as dg

from analytics_assets.ingest.assets import INGEST_GROUP
from analytics_assets.ingest.jobs import HOURLY_CHECKS
from analytics_assets.sales.marts import SALES_GROUP

CUSTOMER_360 = "customer_360"

hourly_refresh_job = dg.define_asset_job(
    "hourly_refresh_job",
    selection=dg.AssetSelection.groups(INGEST_GROUP).without_checks() | HOURLY_CHECKS
    | dg.AssetSelection.groups(SALES_GROUP) | dg.AssetSelection.assets(CUSTOMER_360),
    description="The hourly refresh in one run (one process start, one engine open): the replicas with their "
    "hourly checks, sales_fact, every dashboard datamart and customer_360. ingest_job, sales_dashboard_job "
    "and customer_360_job stay for running a part by hand.",
)

sales_dashboard_job = dg.define_asset_job(
    "sales_dashboard_job",
    selection=dg.AssetSelection.groups(SALES_GROUP),
    description="Apply what changed to sales_fact, then rebuild every dashboard datamart.",
)
