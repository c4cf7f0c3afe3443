"""The web feed's own checks, beside the landing ones: finite values, and the hourly rollup equal to
the raw points it was fed from."""

from datetime import datetime, timedelta, timezone

import dagster as dg

from analytics_assets.landing.load import LoadReport
from analytics_assets.warehouse.sql import sql_file
from analytics_assets.web.load import HOURLY, RAW

CHECK_SPECS = [
    dg.AssetCheckSpec("values_finite", asset=RAW, blocking=True, description="Every metric_value is a finite number."),
    dg.AssetCheckSpec("matches_raw", asset=HOURLY, blocking=True,
                      description="For the hours this run loaded (within retention), the rollup's count, total, min "
                                  "and max equal the raw points'."),
]


def feed_checks(wh, report: LoadReport, ttl_days: int) -> list[dg.AssetCheckResult]:
    not_finite = wh.scalar(f"SELECT countIf(NOT isFinite(metric_value)) FROM {RAW}")
    return [dg.AssetCheckResult(asset_key=RAW, check_name="values_finite", passed=not_finite == 0,
                                metadata={"not_finite": int(not_finite)}),
            rollup_check(wh, report, ttl_days)]


def rollup_check(wh, report: LoadReport, ttl_days: int) -> dg.AssetCheckResult:
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

