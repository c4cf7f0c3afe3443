"""The events file sensor, the catch-up of past days, the hourly backstop, and events_job on demo files."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import dagster as dg

from analytics_assets.demo import event_files
from analytics_assets.events.assets import build_funnel_asset, product_event_retention, product_events
from analytics_assets.events.funnel_spec import load_funnels
from analytics_assets.events.jobs import events_job, funnels_job
from analytics_assets.events.schedules import events_hourly_schedule
from analytics_assets.events.sensors import events_landing_sensor, funnels_for_loaded_days
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets_tests.events.conftest import event, rows, write_events
from analytics_assets_tests.support import evaluate_run_status_sensor
from analytics_assets_tests.web.conftest import check_results


def _definitions(clickhouse) -> dg.Definitions:
    specs, _ = load_funnels()
    return dg.Definitions(assets=[product_events, product_event_retention, *map(build_funnel_asset, specs)],
                          jobs=[events_job, funnels_job], resources={"clickhouse": clickhouse})


def test_a_landing_file_asks_for_events_job_today_within_a_tick(landing):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance)
        assert isinstance(events_landing_sensor(context), dg.SkipReason)
        write_events(landing, "a.ndjson", [event("2026-11-20T10:00:00Z", "view", "u1")])
        request = events_landing_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
    assert request.partition_key == datetime.now(timezone.utc).date().isoformat()
    assert request.tags["analytics/landing_files"] == "a.ndjson" and AS_OF_TAG in request.tags
    assert events_landing_sensor.minimum_interval_seconds <= 60  # near real time: within a minute


def test_the_hourly_backstop_closes_yesterday_once_its_funnels_window_has_passed(landing, clickhouse):
    def evaluate(when: datetime) -> dg.RunRequest:
        return events_hourly_schedule(dg.build_schedule_context(scheduled_execution_time=when))

    during = evaluate(datetime(2026, 11, 26, 10, 15, tzinfo=timezone.utc))
    assert during.partition_key == "2026-11-26" and during.tags[AS_OF_TAG] == "2026-11-26T10:00:00+00:00"
    # The shipped funnel's window is an hour: at 00:15 and 01:15 yesterday is rebuilt too, then left.
    for hour, first in ((0, "2026-11-26"), (1, "2026-11-26")):
        request = evaluate(datetime(2026, 11, 27, hour, 15, tzinfo=timezone.utc))
        assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) \
            == (first, "2026-11-27")
    assert evaluate(datetime(2026, 11, 27, 2, 15, tzinfo=timezone.utc)).partition_key == "2026-11-27"

    # A purchase after midnight completes a funnel started before it, once the 01:15 run has run
    # (a past night: the events may not be later than now).
    write_events(landing, "night.ndjson", [event("2026-11-20T23:30:00Z", "view", "u1"),
                                           event("2026-11-20T23:40:00Z", "add_to_cart", "u1"),
                                           event("2026-11-21T00:05:00Z", "checkout", "u1"),
                                           event("2026-11-21T00:10:00Z", "purchase", "u1")])
    request = evaluate(datetime(2026, 11, 21, 1, 15, tzinfo=timezone.utc))
    assert _definitions(clickhouse).resolve_job_def("events_job").execute_in_process(tags=request.tags).success
    assert rows(clickhouse, "SELECT date, groupArray(users), min(is_complete) FROM (SELECT * FROM funnel_purchase"
                            " ORDER BY step) GROUP BY date ORDER BY date") == [
        (date(2026, 11, 20), [1, 1, 1, 1], 1)]


def test_a_late_file_gets_the_funnels_of_its_days_and_the_day_before_rebuilt(landing, clickhouse):
    today = datetime.now(timezone.utc).date()
    late = today - timedelta(days=3)
    write_events(landing, "late.ndjson", [event(f"{late}T00:10:00Z", "view", "u1"),
                                          event(f"{late}T00:20:00Z", "add_to_cart", "u1")])
    write_events(landing, "today.ndjson", [event(f"{today}T01:10:00Z", "view", "u2")])
    defs = _definitions(clickhouse)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("events_job").execute_in_process(instance=instance,
                                                                        partition_key=today.isoformat())
        assert result.success
        request = evaluate_run_status_sensor(funnels_for_loaded_days, instance, result.run_id)
        # The shipped funnel's window is an hour: a funnel started the day before (after 23:10) can
        # reach the first of these events, at 00:10.
        assert request.tags["dagster/asset_partition_range_start"] == (late - timedelta(days=1)).isoformat()
        assert request.tags["dagster/asset_partition_range_end"] == (today - timedelta(days=1)).isoformat()
        # A run that loads nothing afterwards does not hide what this one loaded.
        nothing = defs.resolve_job_def("events_job").execute_in_process(instance=instance,
                                                                         partition_key=today.isoformat())
        assert nothing.success
        assert evaluate_run_status_sensor(funnels_for_loaded_days, instance, result.run_id).tags == request.tags
        catch_up = defs.resolve_job_def("funnels_job").execute_in_process(instance=instance, tags=request.tags)
        assert catch_up.success
    assert rows(clickhouse, "SELECT date, step_name, users FROM funnel_purchase WHERE date < today()"
                            " ORDER BY step") == [
        (late, "view", 1), (late, "add_to_cart", 1), (late, "checkout", 0), (late, "purchase", 0)]


def test_a_file_of_today_after_the_first_hour_asks_for_no_past_days(landing, clickhouse):
    today = datetime.now(timezone.utc)
    if today.hour < 2:  # an event before 01:00 may belong to a funnel of yesterday
        today -= timedelta(hours=3)
    write_events(landing, "now.ndjson", [event(today.replace(minute=0).strftime("%Y-%m-%dT%H:%M:%SZ"), "view", "u1")])
    defs = _definitions(clickhouse)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("events_job").execute_in_process(
            instance=instance, partition_key=today.date().isoformat())
        skip = evaluate_run_status_sensor(funnels_for_loaded_days, instance, result.run_id)
    assert isinstance(skip, dg.SkipReason)


def test_events_job_on_demo_files(landing, clickhouse, monkeypatch):
    monkeypatch.delenv("ANALYTICS_EVENTS_TTL_DAYS")  # the default retention, on recent data
    as_of = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    event_files.write_history(landing, as_of=as_of, customers=40, days=21)
    first_day = (as_of - timedelta(days=13)).date().isoformat()
    result = _definitions(clickhouse).resolve_job_def("events_job").execute_in_process(
        tags={"dagster/asset_partition_range_start": first_day,
              "dagster/asset_partition_range_end": as_of.date().isoformat(), AS_OF_TAG: as_of.isoformat()})
    assert result.success and all(check_results(result).values()), check_results(result)
    sent = sum(len(event_files.day_events(as_of.date() - timedelta(days=d), customers=40)) for d in range(1, 21))
    loaded, quarantined = rows(clickhouse, "SELECT (SELECT count() FROM product_events),"
                                           " (SELECT count() FROM product_events_quarantine)")[0]
    assert quarantined == 0 and loaded > 0.9 * sent
    days = rows(clickhouse, "SELECT date, groupArray(users) FROM (SELECT * FROM funnel_purchase ORDER BY step)"
                            " GROUP BY date ORDER BY date")
    assert len(days) == 14
    for _, users in days:  # every day: drop-off at each step, and some buyers
        assert users[0] > users[1] > users[2] > users[3] > 0
    overall = rows(clickhouse, "SELECT sumIf(users, step = 4) / sumIf(users, step = 1) FROM funnel_purchase")[0][0]
    assert 0.03 < overall < 0.15  # about 0.28 x 0.55 x 0.72 x 0.9 of viewers buy within the hour
    assert rows(clickhouse, "SELECT countIf(customer_id IS NOT NULL AND event_name = 'view'),"
                            " countIf(customer_id IS NOT NULL AND event_name = 'purchase') > 0 FROM product_events") \
        == [(0, 1)]
    assert rows(clickhouse, "SELECT min(weeks_since_first), max(weeks_since_first), countIf(weeks_since_first = 0"
                            " AND retention_rate != 1) FROM product_event_retention") == [(0, 3, 0)]
