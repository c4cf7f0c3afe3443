"""A partitioned job's run without a partition gets the logical day's (default_partition.py)."""

import dagster as dg

from analytics_assets.default_partition import default_partition_tags

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC", end_offset=1)
MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")


def test_a_daily_feed_runs_for_the_logical_day_as_of_the_logical_time(monkeypatch):
    monkeypatch.setenv("ANALYTICS_AS_OF", "2026-10-05T13:20:00Z")
    assert default_partition_tags(DAILY, {}) == {"dagster/partition": "2026-10-05",
                                                 "analytics/as_of": "2026-10-05T13:20:00+00:00"}
    # The run's own logical time wins over the environment's.
    assert default_partition_tags(DAILY, {"analytics/as_of": "2026-03-01T00:30:00Z"}) == {
        "dagster/partition": "2026-03-01"}


def test_a_report_runs_for_the_last_complete_period_as_of_its_end(monkeypatch):
    monkeypatch.setenv("ANALYTICS_AS_OF", "2026-11-05T13:20:00Z")
    assert default_partition_tags(MONTHLY, {}) == {"dagster/partition": "2026-10-01"}


def test_a_run_with_a_partition_or_a_range_is_left_alone(monkeypatch):
    monkeypatch.setenv("ANALYTICS_AS_OF", "2026-10-05T13:20:00Z")
    assert default_partition_tags(DAILY, {"dagster/partition": "2026-01-02"}) == {}
    assert default_partition_tags(DAILY, {"dagster/asset_partition_range_start": "2026-01-02",
                                          "dagster/asset_partition_range_end": "2026-01-05"}) == {}
