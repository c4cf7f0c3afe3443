"""The daily segmentation: 02:00 UTC, the whole customers group, as of the tick."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from analytics_assets.customers.jobs import customer_segmentation_job
from analytics_assets.customers.schedules import customer_segmentation_daily_schedule
from analytics_assets.definitions import defs


def test_segments_are_rebuilt_every_day_at_two_utc():
    schedule = customer_segmentation_daily_schedule
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        "0 2 * * *", "UTC", "customer_segmentation_job")
    request = schedule.evaluate_tick(dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 27, 2, tzinfo=timezone.utc))).run_requests[0]
    assert request.job_name in (None, "customer_segmentation_job")
    job = defs.resolve_job_def(customer_segmentation_job.name)
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == {
        "customer_rfm", "customer_behavior_clusters", "customer_clv_model", "customer_clv", "customer_segments",
        "customer_segment_summary"}
