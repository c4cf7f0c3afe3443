"""Segments are rebuilt every morning (the original Airflow examples' 02:00), for the tick's logical time."""

import dagster as dg

from analytics_assets.customers.assets import CUSTOMERS_GROUP

customer_segmentation_job = dg.define_asset_job(
    "customer_segmentation_job",
    selection=dg.AssetSelection.groups(CUSTOMERS_GROUP),
    description="RFM, behaviour clusters, CLV models, customer_segments and their summary.",
)

customer_segmentation_daily_schedule = dg.ScheduleDefinition(
    name="customer_segmentation_daily",
    job=customer_segmentation_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
)
