"""The hourly backstop of the events feed."""

from analytics_assets.events.assets import funnel_reach
from analytics_assets.events.jobs import events_job
from analytics_assets.landing.automation import hourly_partition_schedule

# Each hour, as of the hour, the funnels of today and of the days whose windows reach into the last
# hour (any file the sensor missed loads too).
events_hourly_schedule = hourly_partition_schedule("events_hourly", events_job, "15 * * * *", reach=funnel_reach)
