"""The web jobs: the load with the analyses (the file sensor's), and the analyses alone."""

import dagster as dg

from analytics_assets.web.analyses import ANALYSES, WEB_DAYS, WEB_GROUP

# Load new landing files, then refresh the analyses for the run's days (the file sensor's job).
web_analytics_job = dg.define_asset_job(
    "web_analytics_job",
    selection=dg.AssetSelection.groups(WEB_GROUP),
    partitions_def=WEB_DAYS,
    description="Loads new metric files from the landing folder, then rebuilds the web analyses for the run's days.",
)

# The analyses alone, for the hourly refresh and for backfills of past days.
web_analyses_job = dg.define_asset_job(
    "web_analyses_job",
    selection=dg.AssetSelection.assets(*(a.name for a in ANALYSES)),
    partitions_def=WEB_DAYS,
    description="Rebuilds the web analyses (moving average, YoY, anomalies, seasonality) for a range of days.",
)
