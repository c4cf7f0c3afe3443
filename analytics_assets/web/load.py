"""The web metrics feed: `landing/web/` files into `website_metrics`, exactly once (the landing
machinery in landing/load.py), and its hourly rollup, fed on insert and kept after the raw
points expire."""

from __future__ import annotations

from pathlib import Path

from analytics_assets import settings
from analytics_assets.landing import load as landing
from analytics_assets.landing.load import LandingFeed
from analytics_assets.warehouse.sql import run_script, sql_file

RAW = "website_metrics"
HOURLY = "website_metrics_hourly"
HOURLY_STATE = "website_metrics_hourly_state"
HOURLY_MV = "website_metrics_hourly_mv"

WEB_FEED = LandingFeed(
    settings=settings.WEB,
    table=RAW,
    sql_dir=Path(__file__).parent,
    columns=("timestamp", "metric_name", "metric_value", "dimensions", "tags"),
    parsed_columns=("timestamp DateTime('UTC'), metric_name String, metric_value Float64,"
                    " dimensions Map(String, String), tags Array(String)"),
    time_column="timestamp",
    ttl_column="timestamp",
    csv_required=("timestamp", "metric_name", "metric_value"),
    csv_optional=("dimensions", "tags"),
    # Strings for the scalars: the SQL checks them.
    ndjson_row_type=("Tuple(timestamp Nullable(String), metric_name Nullable(String), metric_value Nullable(String),"
                     " dimensions Map(String, String), tags Array(String))"),
    derived=(HOURLY_STATE,),
)
FILES = WEB_FEED.files_table
QUARANTINE = WEB_FEED.quarantine_table


def ensure_tables(wh, ttl_days: int) -> None:
    """The web tables, created if missing; the raw table's TTL kept at `ttl_days` (0 = none)."""
    landing.ensure_tables(wh, WEB_FEED, ttl_days)
    run_script(wh, sql_file(__file__, HOURLY_STATE), table=HOURLY_STATE)
    run_script(wh, sql_file(__file__, HOURLY_MV), table=HOURLY_MV, state=HOURLY_STATE, source=RAW)
    run_script(wh, sql_file(__file__, HOURLY), table=HOURLY, state=HOURLY_STATE)

