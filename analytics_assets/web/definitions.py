"""The web domain: the metrics feed and its hourly rollup, the analyses, their jobs, schedule and
sensors, and the feed's internal tables."""

import dagster as dg

from analytics_assets.warehouse import registry
from analytics_assets.web.analyses import analysis_assets
from analytics_assets.web.assets import website_metrics
from analytics_assets.web.jobs import web_analyses_job, web_analytics_job
from analytics_assets.web.load import HOURLY_MV, WEB_FEED
from analytics_assets.web.schedules import web_analyses_hourly_schedule
from analytics_assets.web.sensors import web_analyses_for_loaded_days, web_landing_sensor

defs = registry.claim("web", dg.Definitions(
    assets=[website_metrics, *analysis_assets],
    jobs=[web_analytics_job, web_analyses_job],
    schedules=[web_analyses_hourly_schedule],
    sensors=[web_landing_sensor, web_analyses_for_loaded_days],
), internal=[*WEB_FEED.internal_tables, HOURLY_MV])
