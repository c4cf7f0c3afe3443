"""`website_metrics` and its hourly rollup, loaded from the landing folder, with their checks."""


import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from analytics_assets import settings
from analytics_assets.landing.checks import landing_check_results, landing_check_specs, load_metadata, log_outcomes
from analytics_assets.landing.load import LoadReport
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.warehouse.columns import table_metadata
from analytics_assets.warehouse.sql import sql_file
from analytics_assets.web.analyses import WEB_GROUP
from analytics_assets.web.load import HOURLY, HOURLY_MV, HOURLY_STATE, RAW, WEB_FEED, load_landing_files

WEB_SQL = Path(__file__).parent
LANDING_POOL = "web_landing"  # one load at a time against a server too (the registry is read, then written)


CHECKS = [
    *landing_check_specs(WEB_FEED),
    dg.AssetCheckSpec("values_finite", asset=RAW, blocking=True, description="Every metric_value is a finite number."),
    dg.AssetCheckSpec("matches_raw", asset=HOURLY, blocking=True,
                      description="For the hours this run loaded (within retention), the rollup's count, total, min "
                                  "and max equal the raw points'."),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(RAW, group_name=WEB_GROUP, kinds={"clickhouse"},
                     description="Raw website metric points from the landing folder (NDJSON/CSV, gzip optional), "
                                 "each file loaded once; bad rows go to website_metrics_quarantine. TTL: "
                                 "ANALYTICS_WEB_TTL_DAYS.",
                     metadata=table_metadata(WEB_SQL / f"{RAW}.sql", WEB_SQL / "load.py")),
        dg.AssetSpec(HOURLY, group_name=WEB_GROUP, kinds={"clickhouse"}, deps=[RAW],
                     description="Hourly total/avg/max/min/count per metric: an AggregatingMergeTree of -State "
                                 "columns fed by a materialized view, read through a view that merges them. "
                                 "Kept after the raw points expire.",
                     metadata=table_metadata(WEB_SQL / f"{HOURLY}.sql", WEB_SQL / f"{HOURLY_STATE}.sql",
                                             WEB_SQL / f"{HOURLY_MV}.sql")),
    ],
    check_specs=CHECKS,
    pool=clickhouse_pool() or LANDING_POOL,
)
def website_metrics(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
    """Loads every new file of $ANALYTICS_DATA_DIR/landing/web (see landing/load.py)."""
    started = time.monotonic()
    folder = settings.landing_dir("web")
    loaded_at = datetime.now(timezone.utc)  # when the data arrived: the bound for "in the future"
    latest = loaded_at + timedelta(minutes=settings.web_future_tolerance_minutes())
    ttl_days = settings.web_ttl_days()
    with clickhouse.get_client() as wh:
        report = load_landing_files(wh, folder, run_id=context.run_id, loaded_at=loaded_at,
                                    max_bad_rows_pct=settings.web_max_bad_rows_pct(),
                                    future_tolerance=latest - loaded_at, ttl_days=ttl_days)
        not_finite = wh.scalar(f"SELECT countIf(NOT isFinite(metric_value)) FROM {RAW}")
        checks = [
            *landing_check_results(wh, WEB_FEED, report, latest),
            dg.AssetCheckResult(asset_key=RAW, check_name="values_finite", passed=not_finite == 0,
                                metadata={"not_finite": int(not_finite)}),
            _rollup_check(wh, report, ttl_days),
        ]
        raw_rows = wh.row_count(RAW)
    log_outcomes(context, report)
    yield dg.MaterializeResult(asset_key=RAW, metadata=load_metadata(report, folder, raw_rows,
                                                                     time.monotonic() - started))
    yield dg.MaterializeResult(asset_key=HOURLY, metadata={"rows_loaded": report.rows_loaded})
    yield from checks


def _rollup_check(wh, report: LoadReport, ttl_days: int) -> dg.AssetCheckResult:
    touched = report.touched_range()
    if touched is None:
        return dg.AssetCheckResult(asset_key=HOURLY, check_name="matches_raw", passed=True,
                                   metadata={"detail": "nothing loaded in this run"})
    start = touched[0].replace(minute=0, second=0, microsecond=0, tzinfo=timezone.utc)
    end = touched[1].replace(minute=0, second=0, microsecond=0, tzinfo=timezone.utc) + timedelta(hours=1)
    if ttl_days:  # older raw days may already have expired (TTL runs on the server's clock)
        retained = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        start = max(start, retained - timedelta(days=ttl_days - 1))
    if start >= end:
        return dg.AssetCheckResult(asset_key=HOURLY, check_name="matches_raw", passed=True,
                                   metadata={"detail": "everything loaded is past the raw retention"})
    mismatches, examples = wh.rows(sql_file(__file__, "website_metrics_hourly_matches_raw"),
                                   {"from": start, "to": end})[0]
    return dg.AssetCheckResult(asset_key=HOURLY, check_name="matches_raw", passed=mismatches == 0,
                               metadata={"hours_compared": f"[{start.isoformat()}, {end.isoformat()})",
                                         "mismatched_hours": int(mismatches), "examples": examples})
