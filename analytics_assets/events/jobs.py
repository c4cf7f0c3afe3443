"""The events jobs: the load with the funnels and retention (the file sensor's), and the funnels alone."""

import dagster as dg

from analytics_assets.events.assets import EVENTS, EVENTS_DAYS, EVENTS_GROUP

# Load new event files, then refresh the funnels for the run's days and the retention table.
events_job = dg.define_asset_job(
    "events_job",
    selection=dg.AssetSelection.groups(EVENTS_GROUP),
    partitions_def=EVENTS_DAYS,
    description="Loads new event files from the landing folder, then refreshes the funnels for the run's days and "
                "the event retention.",
)

# The funnels alone, for past days a late file touched and for backfills.
funnels_job = dg.define_asset_job(
    "funnels_job",
    selection=dg.AssetSelection.groups(EVENTS_GROUP) - dg.AssetSelection.assets(EVENTS, "product_event_retention"),
    partitions_def=EVENTS_DAYS,
    description="Rebuilds the funnel tables for a range of days.",
)
