"""The events job, its file sensor, the catch-up of past days, and the hourly backstop."""

import dagster as dg

from analytics_assets import settings
from analytics_assets.events.assets import EVENTS, EVENTS_DAYS, EVENTS_GROUP, funnel_reach
from analytics_assets.landing.automation import hourly_partition_schedule, landing_file_sensor, loaded_days_sensor

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

# Within a minute of a file landing (the sensor ticks every 30 s).
events_landing_sensor = landing_file_sensor("events_landing_sensor", "events", events_job)

funnels_for_loaded_days = loaded_days_sensor(
    "funnels_for_loaded_days", EVENTS, events_job, funnels_job, settings.events_start_date, funnel_reach)

# The backstop: each hour, as of the hour, the funnels of today and of the days whose windows reach
# into the last hour (any file the sensor missed loads too).
events_hourly_schedule = hourly_partition_schedule("events_hourly", events_job, "15 * * * *", reach=funnel_reach)
