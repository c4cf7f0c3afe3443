"""The hourly schedule and the after-ingest sensor drive sales_dashboard_job at a logical time."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from analytics_assets.demo import generator
from analytics_assets.ingest.assets import replica_assets
from analytics_assets.ingest.checks import replica_checks
from analytics_assets.ingest.jobs import ingest_job
from analytics_assets.logical_time import AS_OF_TAG, SCHEDULED_TAG
from analytics_assets.resources import PostgresResource
from analytics_assets.sales.schedules import sales_dashboard_hourly_schedule
from analytics_assets.sales.sensors import sales_dashboard_after_ingest
from analytics_assets_tests.sales.conftest import ALL, materializations
from analytics_assets_tests.support import evaluate_run_status_sensor

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)


def test_the_hourly_schedule_targets_the_dashboard_job():
    assert sales_dashboard_hourly_schedule.cron_schedule == "0 * * * *"
    assert sales_dashboard_hourly_schedule.job_name == "sales_dashboard_job"
    assert sales_dashboard_hourly_schedule.execution_timezone == "UTC"


def test_our_tick_tag_is_the_one_the_daemon_writes():
    """Found in dagster dev: the daemon's tag is hidden (`.dagster/...`); the 08:00 tick ran at now."""
    from dagster._core.storage.tags import SCHEDULED_EXECUTION_TIME_TAG

    assert SCHEDULED_TAG == SCHEDULED_EXECUTION_TIME_TAG


def test_a_schedule_tick_is_the_logical_time(pg_dsn, clickhouse, monkeypatch):
    """No as_of tag: the tick decides the windows, not the wall clock or ANALYTICS_AS_OF."""
    monkeypatch.setenv("ANALYTICS_AS_OF", "2020-01-01T00:00:00Z")
    generator.generate(pg_dsn, customers=200, products=30, sales=2000, seed=2, as_of=AS_OF)
    result = dg.materialize(
        ALL, resources={"postgres": PostgresResource(dsn=pg_dsn), "clickhouse": clickhouse},
        tags={SCHEDULED_TAG: "2026-06-30T12:00:00+00:00"},
    )
    (mart,) = materializations(result, "dashboard_daily_breakdown")
    assert mart.metadata["as_of"].value == "2026-06-30T12:00:00+00:00"
    assert mart.metadata["window"].value == "[2026-06-23, 2026-06-30T12:00:00+00:00)"


def test_the_environment_is_the_fallback_logical_time(pg_dsn, clickhouse, monkeypatch):
    monkeypatch.setenv("ANALYTICS_AS_OF", "2026-06-29T06:30:00Z")
    generator.generate(pg_dsn, customers=200, products=30, sales=2000, seed=2, as_of=AS_OF)
    result = dg.materialize(ALL, resources={"postgres": PostgresResource(dsn=pg_dsn), "clickhouse": clickhouse})
    (mart,) = materializations(result, "dashboard_yoy_comparison")
    assert mart.metadata["as_of"].value == "2026-06-29T06:30:00+00:00"


def test_an_ingest_run_that_wrote_rows_requests_a_dashboard_refresh(pg_dsn, clickhouse):
    generator.generate(pg_dsn, customers=200, products=30, sales=2000, seed=2, as_of=AS_OF)
    resources = {"postgres": PostgresResource(dsn=pg_dsn), "clickhouse": clickhouse}
    with dg.instance_for_test() as instance:
        job = dg.Definitions(assets=replica_assets, asset_checks=replica_checks, jobs=[ingest_job],
                             resources=resources).resolve_job_def(
            "ingest_job")
        first = job.execute_in_process(instance=instance)
        request = _evaluate(instance, first)
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == f"after-{first.run_id}"
        ended = instance.get_run_stats(first.run_id).end_time
        assert request.tags[AS_OF_TAG] == datetime.fromtimestamp(ended, tz=timezone.utc).isoformat()

        # Nothing new at the source: the look-back re-reads rows the replicas have; that is no news.
        second = job.execute_in_process(instance=instance)
        (raw_sales,) = second.asset_materializations_for_node("raw_sales")
        assert raw_sales.metadata["rows_read"].value > 0 and raw_sales.metadata["rows_new"].value == 0
        skipped = _evaluate(instance, second)
        assert isinstance(skipped, dg.SkipReason) and "no new row versions" in skipped.skip_message


def _evaluate(instance, result):
    return evaluate_run_status_sensor(sales_dashboard_after_ingest, instance, result.run_id)
