"""React to metric files: the file sensor, and the catch-up of past days that late files touched
(landing/automation.py)."""

from analytics_assets import settings
from analytics_assets.landing.automation import landing_file_sensor, loaded_days_sensor
from analytics_assets.web.load import RAW
from analytics_assets.web.schedules import web_analytics_job, web_analyses_job

web_landing_sensor = landing_file_sensor("web_landing_sensor", "web", web_analytics_job)

web_analyses_for_loaded_days = loaded_days_sensor(
    "web_analyses_for_loaded_days", RAW, web_analytics_job, web_analyses_job, settings.web_start_date)
