"""`website_metrics` and its hourly rollup, loaded from the landing folder, with their checks."""


from pathlib import Path

import dagster as dg

from analytics_assets.landing.assets import build_landing_asset
from analytics_assets.warehouse.columns import table_metadata
from analytics_assets.web.analyses import WEB_GROUP
from analytics_assets.web.checks import CHECK_SPECS, feed_checks
from analytics_assets.web.load import HOURLY, HOURLY_MV, HOURLY_STATE, RAW, WEB_FEED, ensure_tables

WEB_SQL = Path(__file__).parent


# Loads every new file of $ANALYTICS_DATA_DIR/landing/web (see landing/load.py).
website_metrics = build_landing_asset(
    WEB_FEED, group=WEB_GROUP, ensure_tables=ensure_tables,
    description="Raw website metric points from the landing folder (NDJSON/CSV, gzip optional), each file loaded "
                "once; bad rows go to website_metrics_quarantine. TTL: ANALYTICS_WEB_TTL_DAYS.",
    metadata=table_metadata(WEB_SQL / f"{RAW}.sql", WEB_SQL / "load.py"),
    derived=[dg.AssetSpec(HOURLY, group_name=WEB_GROUP, kinds={"clickhouse"}, deps=[RAW],
                          description="Hourly total/avg/max/min/count per metric: an AggregatingMergeTree of -State "
                                      "columns fed by a materialized view, read through a view that merges them. "
                                      "Kept after the raw points expire.",
                          metadata=table_metadata(WEB_SQL / f"{HOURLY}.sql", WEB_SQL / f"{HOURLY_STATE}.sql",
                                                  WEB_SQL / f"{HOURLY_MV}.sql"))],
    check_specs=CHECK_SPECS,
    checks=feed_checks,
)
