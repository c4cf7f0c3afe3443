"""React to event files: the file sensor, and the catch-up of past days that late files touched
(landing/automation.py)."""

from analytics_assets.events.assets import funnel_reach
from analytics_assets.events.jobs import events_job, funnels_job
from analytics_assets.events.load import EVENTS_FEED
from analytics_assets.landing.automation import landing_file_sensor, loaded_days_sensor

events_landing_sensor = landing_file_sensor(EVENTS_FEED, events_job)

funnels_for_loaded_days = loaded_days_sensor(
    "funnels_for_loaded_days", EVENTS_FEED, events_job, funnels_job, funnel_reach)
