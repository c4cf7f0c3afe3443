"""customer_360 and the sales cohorts, by hand or hourly."""

import dagster as dg

from analytics_assets.customer360.assets import CUSTOMER360_GROUP

customer_360_job = dg.define_asset_job(
    "customer_360_job", selection=dg.AssetSelection.groups(CUSTOMER360_GROUP),
    description="customer_360 and the sales cohorts.")
