"""The events domain: the product events feed, the funnels defined in YAML, event retention, their
jobs, schedule and sensors, and the feed's internal tables.

A funnel may not take the name of another table of ours: the domains it could collide with are
defined (and claim their names in warehouse/registry.py) before the funnels are.
"""

import dagster as dg

from analytics_assets.bi import assets as bi_assets  # noqa: F401  the BI feed names, claimed
from analytics_assets.customer360 import definitions as customer360  # noqa: F401
from analytics_assets.customers import definitions as customers  # noqa: F401
from analytics_assets.events.assets import funnel_assets, product_event_retention, product_events
from analytics_assets.events.jobs import events_job, funnels_job
from analytics_assets.events.load import EVENTS_FEED
from analytics_assets.events.schedules import events_hourly_schedule
from analytics_assets.events.sensors import events_landing_sensor, funnels_for_loaded_days
from analytics_assets.ingest import definitions as ingest  # noqa: F401
from analytics_assets.sales import definitions as sales  # noqa: F401
from analytics_assets.warehouse import registry
from analytics_assets.web import definitions as web  # noqa: F401

# The feed and retention first: no funnel may take their names either.
registry.claim("events", dg.Definitions(assets=[product_events, product_event_retention]),
               internal=EVENTS_FEED.internal_tables)
defs = registry.claim("events", dg.Definitions(
    assets=[product_events, product_event_retention, *funnel_assets(registry.taken())],
    jobs=[events_job, funnels_job],
    schedules=[events_hourly_schedule],
    sensors=[events_landing_sensor, funnels_for_loaded_days],
))
