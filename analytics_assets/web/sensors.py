"""React to metric files: the file sensor, and the catch-up of past days that late files touched
(landing/automation.py)."""

from analytics_assets.landing.automation import landing_file_sensor, loaded_days_sensor
from analytics_assets.web.jobs import web_analyses_job, web_analytics_job
from analytics_assets.web.load import WEB_FEED

web_landing_sensor = landing_file_sensor(WEB_FEED, web_analytics_job)

web_analyses_for_loaded_days = loaded_days_sensor(
    "web_analyses_for_loaded_days", WEB_FEED, web_analytics_job, web_analyses_job)
