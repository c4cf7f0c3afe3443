"""A landing feed's asset: every new file of its folder loaded once into its table (landing/load.py),
with the common checks (checks.py) and the feed's own, and the daily partitions of what is built
from it."""

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

import dagster as dg

from analytics_assets.landing.checks import landing_check_results, landing_check_specs, load_metadata, log_outcomes
from analytics_assets.landing.load import LandingFeed, LoadReport, load_landing_files
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool

# The feed's own checks, after the load: (wh, report, ttl_days) -> results.
FeedChecks = Callable[[object, LoadReport, int], list[dg.AssetCheckResult]]


def feed_days(feed: LandingFeed) -> dg.DailyPartitionsDefinition:
    """The days of what is built from the feed, from its START_DATE. end_offset=1: today's partition
    exists, so the file sensor and the hourly schedule can refresh it."""
    return dg.DailyPartitionsDefinition(start_date=feed.settings.start_date(), timezone="UTC", end_offset=1)


def build_landing_asset(feed: LandingFeed, *, group: str, description: str, metadata: dict,
                        ensure_tables: Callable[[object, int], None],
                        derived: Sequence[dg.AssetSpec] = (), check_specs: Sequence[dg.AssetCheckSpec] = (),
                        checks: FeedChecks | None = None) -> dg.AssetsDefinition:
    """The asset that loads `feed` (and materializes the tables `derived` from it on insert).
    `ensure_tables(wh, ttl_days)` creates the feed's tables; `checks` adds the feed's own results."""
    pool = f"{feed.kind}_landing"  # one load at a time against a server too (the registry is read, then written)

    @dg.multi_asset(
        name=feed.table,
        specs=[dg.AssetSpec(feed.table, group_name=group, kinds={"clickhouse"}, description=description,
                            metadata=metadata), *derived],
        check_specs=[*landing_check_specs(feed), *check_specs],
        pool=clickhouse_pool() or pool,
    )
    def load_feed(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        started = time.monotonic()
        folder = feed.settings.folder()
        loaded_at = datetime.now(timezone.utc)  # when the data arrived: the bound for "in the future"
        latest = loaded_at + timedelta(minutes=feed.settings.future_tolerance_minutes())
        ttl_days = feed.settings.ttl_days()
        with clickhouse.get_client() as wh:
            ensure_tables(wh, ttl_days)
            report = load_landing_files(wh, feed, folder, run_id=context.run_id, loaded_at=loaded_at,
                                        max_bad_rows_pct=feed.settings.max_bad_rows_pct(),
                                        future_tolerance=latest - loaded_at)
            results = [*landing_check_results(wh, feed, report, latest),
                       *(checks(wh, report, ttl_days) if checks else ())]
            rows = wh.row_count(feed.table)
        log_outcomes(context, report)
        yield dg.MaterializeResult(asset_key=feed.table,
                                   metadata=load_metadata(report, folder, rows, time.monotonic() - started))
        for spec in derived:
            yield dg.MaterializeResult(asset_key=spec.key, metadata={"rows_loaded": report.rows_loaded})
        yield from results

    return load_feed
