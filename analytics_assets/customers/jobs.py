"""The segmentation job: RFM, behaviour clusters, CLV models and the segments."""

import dagster as dg

from analytics_assets.customers.assets import CUSTOMERS_GROUP

customer_segmentation_job = dg.define_asset_job(
    "customer_segmentation_job",
    selection=dg.AssetSelection.groups(CUSTOMERS_GROUP),
    description="RFM, behaviour clusters, CLV models, customer_segments and their summary.",
)
