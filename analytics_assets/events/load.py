"""The product events feed: `landing/events/` files into `product_events`, exactly once, through
the same landing machinery as the web metrics (registry, quarantine, recovery: landing/load.py)."""

from __future__ import annotations

from pathlib import Path

from analytics_assets import settings
from analytics_assets.landing import load as landing
from analytics_assets.landing.load import LandingFeed

EVENTS = "product_events"

EVENTS_FEED = LandingFeed(
    settings=settings.EVENTS,
    table=EVENTS,
    sql_dir=Path(__file__).parent,
    columns=("event_time", "event_name", "user_id", "session_id", "customer_id", "properties"),
    parsed_columns=("event_time DateTime64(3, 'UTC'), event_name String, user_id String, session_id String,"
                    " customer_id Nullable(UInt64), properties Map(String, String)"),
    time_column="event_time",
    ttl_column="event_date",
    csv_required=("event_time", "event_name", "user_id"),
    csv_optional=("session_id", "customer_id", "properties"),
    # Strings for the scalars (a JSON number reads as its text): the SQL checks them.
    ndjson_row_type=("Tuple(event_time Nullable(String), event_name Nullable(String), user_id Nullable(String),"
                     " session_id Nullable(String), customer_id Nullable(String))"),
)
FILES = EVENTS_FEED.files_table
QUARANTINE = EVENTS_FEED.quarantine_table


def ensure_tables(wh, ttl_days: int) -> None:
    """`product_events`, its registry and quarantine, created if missing; TTL kept at `ttl_days`."""
    landing.ensure_tables(wh, EVENTS_FEED, ttl_days)

