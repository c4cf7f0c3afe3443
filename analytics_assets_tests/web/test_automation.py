"""The file sensor, the hourly schedule, the catch-up for past days, and the whole job on demo files."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import dagster as dg

from analytics_assets.demo.web_files import anomalies, write_history
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets.web.analyses import analysis_assets
from analytics_assets.web.assets import website_metrics
from analytics_assets.web.jobs import web_analyses_job, web_analytics_job
from analytics_assets.web.schedules import web_analyses_hourly_schedule
from analytics_assets.web.sensors import web_analyses_for_loaded_days, web_landing_sensor
from analytics_assets_tests.support import evaluate_run_status_sensor
from analytics_assets_tests.web.conftest import check_results, point, rows, write_ndjson


def test_the_file_sensor_requests_a_run_for_new_or_changed_files_only(landing):
    with dg.instance_for_test() as instance:
        def tick(cursor):
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            return web_landing_sensor(context), context.cursor

        skipped, cursor = tick(None)
        assert isinstance(skipped, dg.SkipReason)
        write_ndjson(landing, "a.ndjson", [point("2026-03-02 10:00:00", "x", 1)])
        (landing / "b.ndjson.tmp").write_text("still being written\n")
        first, cursor = tick(cursor)
        now = datetime.now(timezone.utc)
        assert first.partition_key == now.date().isoformat() and first.tags["analytics/landing_files"] == "a.ndjson"
        # Today is analysed as of the tick, not as of the day's end: the day is not over yet.
        assert abs((datetime.fromisoformat(first.tags[AS_OF_TAG]) - now).total_seconds()) < 120
        again, cursor = tick(cursor)
        assert isinstance(again, dg.SkipReason)
        write_ndjson(landing, "b.ndjson", [point("2026-03-02 11:00:00", "x", 2)])
        second, cursor = tick(cursor)
        assert second.tags["analytics/landing_files"] == "b.ndjson" and second.run_key != first.run_key
        # The same files seen again from scratch (a lost cursor) ask for the same run: deduplicated by run_key.
        replay, _ = tick(None)
        assert replay.tags["analytics/landing_files"] == "a.ndjson, b.ndjson"


def test_the_hourly_schedule_refreshes_today_and_closes_yesterday_after_midnight():
    def evaluate(when: datetime) -> dg.RunRequest:
        return web_analyses_hourly_schedule(dg.build_schedule_context(scheduled_execution_time=when))

    during = evaluate(datetime(2026, 3, 30, 10, 10, tzinfo=timezone.utc))
    assert during.partition_key == "2026-03-30" and during.tags[AS_OF_TAG] == "2026-03-30T10:00:00+00:00"
    midnight = evaluate(datetime(2026, 3, 31, 0, 10, tzinfo=timezone.utc))  # yesterday closes, as of midnight
    assert (midnight.tags["dagster/asset_partition_range_start"], midnight.tags["dagster/asset_partition_range_end"],
            midnight.tags[AS_OF_TAG]) == ("2026-03-30", "2026-03-31", "2026-03-31T00:00:00+00:00")


def test_files_with_past_days_get_those_days_analysed(landing, clickhouse):
    today = datetime.now(timezone.utc).date()
    write_ndjson(landing, "late.ndjson", [point(f"{today - timedelta(days=3)} 10:00:00", "x", 1)])
    defs = dg.Definitions(assets=[website_metrics, *analysis_assets], jobs=[web_analytics_job, web_analyses_job],
                          resources={"clickhouse": clickhouse, "smtp": SmtpResource()})
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("web_analytics_job").execute_in_process(
            instance=instance, partition_key=today.isoformat())
        request = evaluate_run_status_sensor(web_analyses_for_loaded_days, instance, result.run_id)
        assert request.tags["dagster/asset_partition_range_start"] == (today - timedelta(days=3)).isoformat()
        assert request.tags["dagster/asset_partition_range_end"] == (today - timedelta(days=1)).isoformat()

        catch_up = defs.resolve_job_def("web_analyses_job").execute_in_process(instance=instance, tags=request.tags)
        assert catch_up.success
        assert rows(clickhouse, "SELECT date, value FROM website_metrics_moving_average") == [
            (today - timedelta(days=3), 1.0)]

        # A second load with nothing new asks for nothing.
        again = defs.resolve_job_def("web_analytics_job").execute_in_process(
            instance=instance, partition_key=today.isoformat())
        skip = evaluate_run_status_sensor(web_analyses_for_loaded_days, instance, again.run_id)
        assert isinstance(skip, dg.SkipReason)


def test_the_job_on_demo_files_finds_the_planted_incidents(landing, clickhouse, monkeypatch):
    monkeypatch.delenv("ANALYTICS_WEB_TTL_DAYS")  # the default retention, on recent data
    as_of = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    write_history(landing, as_of=as_of, days=70)
    first_day = (as_of - timedelta(days=13)).date().isoformat()
    job = dg.Definitions(assets=[website_metrics, *analysis_assets], jobs=[web_analytics_job],
                         resources={"clickhouse": clickhouse, "smtp": SmtpResource()}).resolve_job_def("web_analytics_job")
    result = job.execute_in_process(tags={"dagster/asset_partition_range_start": first_day,
                                          "dagster/asset_partition_range_end": as_of.date().isoformat(),
                                          AS_OF_TAG: as_of.isoformat()})
    assert result.success and all(check_results(result).values()), check_results(result)
    flagged = {(m, h.replace(tzinfo=timezone.utc)) for m, h in rows(
        clickhouse, "SELECT metric_name, hour FROM website_metrics_anomalies WHERE status = 'ANOMALY'")}
    for incident in anomalies(as_of):
        metric = {"outage": "pageviews", "spike": "pageviews", "slow": "page_load_time_ms"}[incident.kind]
        for h in range(incident.hours):
            assert (metric, incident.start + timedelta(hours=h)) in flagged, (incident, h)
    hours_checked = rows(clickhouse, "SELECT count() FROM website_metrics_anomalies")[0][0]
    assert len(flagged) < 0.02 * hours_checked + 20  # the planted incidents, and few false alarms
    assert os.listdir(landing)  # the files stay where they landed
