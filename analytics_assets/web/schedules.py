"""The hourly refresh of the web analyses."""

from analytics_assets.landing.automation import hourly_partition_schedule
from analytics_assets.web.jobs import web_analyses_job

# Each hour, today's analyses as of the hour; just after midnight, yesterday's, complete.
web_analyses_hourly_schedule = hourly_partition_schedule("web_analyses_hourly", web_analyses_job, "10 * * * *")
