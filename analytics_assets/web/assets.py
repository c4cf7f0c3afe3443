"""`website_metrics` and its hourly rollup, loaded from the landing folder, with their checks."""


import time
from datetime import datetime, timedelta, timezone

import dagster as dg

from analytics_assets import settings
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.warehouse.sql import sql_file
from analytics_assets.web.analyses import WEB_GROUP
from analytics_assets.landing.load import LoadReport, files_loaded_once
from analytics_assets.web.load import HOURLY, RAW, WEB_FEED, load_landing_files

LANDING_POOL = "web_landing"  # one load at a time against a server too (the registry is read, then written)


def _check(name: str, asset: str, description: str, *, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description)


CHECKS = [
    _check("timestamps_not_in_future", RAW,
           "No point is later than the load time plus ANALYTICS_WEB_FUTURE_TOLERANCE_MINUTES."),
    _check("values_finite", RAW, "Every metric_value is a finite number."),
    _check("files_loaded_once", RAW,
           "The registry holds each file content once, each name once, and every raw row's file is registered."),
    _check("landing_files_accepted", RAW,
           "No landing file was rejected (too many bad rows, unreadable) or refused (changed after loading).",
           blocking=False),
    _check("matches_raw", HOURLY,
           "For the hours this run loaded (within retention), the rollup's count, total, min and max equal the raw "
           "points'."),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(RAW, group_name=WEB_GROUP, kinds={"clickhouse"},
                     description="Raw website metric points from the landing folder (NDJSON/CSV, gzip optional), "
                                 "each file loaded once; bad rows go to website_metrics_quarantine. TTL: "
                                 "ANALYTICS_WEB_TTL_DAYS."),
        dg.AssetSpec(HOURLY, group_name=WEB_GROUP, kinds={"clickhouse"}, deps=[RAW],
                     description="Hourly total/avg/max/min/count per metric: an AggregatingMergeTree of -State "
                                 "columns fed by a materialized view, read through a view that merges them. "
                                 "Kept after the raw points expire."),
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
        for name in report.recovered:
            context.log.warning(f"{name}: an earlier load stopped part-way; its rows were taken out and it loads again")
        checks = _run_checks(wh, report, latest, ttl_days)
        raw_rows = wh.row_count(RAW)
    for outcome in report.having("rejected", "refused"):
        context.log.error(f"{outcome.name}: {outcome.status}: {outcome.detail}")
    touched = report.touched_range()
    yield dg.MaterializeResult(asset_key=RAW, metadata={
        "dagster/row_count": raw_rows,
        "landing_folder": str(folder),
        "files_loaded": len(report.having("loaded")),
        "files_skipped": len(report.having("skipped")),
        "files_rejected": len(report.having("rejected", "refused")),
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "first_day_loaded": touched[0].date().isoformat() if touched else "",
        "last_day_loaded": touched[1].date().isoformat() if touched else "",
        "files": dg.MetadataValue.md(_files_table(report)),
        "duration_s": round(time.monotonic() - started, 3),
    })
    yield dg.MaterializeResult(asset_key=HOURLY, metadata={"rows_loaded": report.rows_loaded})
    yield from checks


def _run_checks(wh, report: LoadReport, latest: datetime, ttl_days: int) -> list[dg.AssetCheckResult]:
    future, newest = wh.rows(f"SELECT countIf(timestamp > {{latest:DateTime('UTC')}}), toString(max(timestamp))"
                             f" FROM {RAW}", {"latest": latest})[0]
    not_finite = wh.scalar(f"SELECT countIf(NOT isFinite(metric_value)) FROM {RAW}")
    duplicates, duplicates_detail = files_loaded_once(wh, WEB_FEED)
    bad_files = report.having("rejected", "refused")
    results = [
        dg.AssetCheckResult(asset_key=RAW, check_name="timestamps_not_in_future", passed=future == 0,
                            metadata={"points_in_future": int(future), "newest": newest,
                                      "bound": latest.isoformat()}),
        dg.AssetCheckResult(asset_key=RAW, check_name="values_finite", passed=not_finite == 0,
                            metadata={"not_finite": int(not_finite)}),
        dg.AssetCheckResult(asset_key=RAW, check_name="files_loaded_once", passed=duplicates == 0,
                            metadata={"problems": int(duplicates), "detail": duplicates_detail}),
        dg.AssetCheckResult(asset_key=RAW, check_name="landing_files_accepted", passed=not bad_files,
                            severity=dg.AssetCheckSeverity.ERROR,
                            metadata={"files": "; ".join(f"{f.name}: {f.detail}" for f in bad_files)[:4000]}),
    ]
    results.append(_rollup_check(wh, report, ttl_days))
    return results


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


def _files_table(report: LoadReport) -> str:
    lines = ["| file | status | rows loaded | rows quarantined | detail |", "|---|---|---:|---:|---|"]
    for f in report.files[:200]:
        lines.append(f"| {f.name} | {f.status} | {f.rows_loaded} | {f.rows_quarantined} | {f.detail.replace('|', '/')} |")
    if len(report.files) > 200:
        lines.append(f"| ... {len(report.files) - 200} more | | | | |")
    return "\n".join(lines)
