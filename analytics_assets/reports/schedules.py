"""Each report's schedule `<name>_schedule`: on the report's cron, it asks for the last complete
period (a partition key), so a tick never builds a period that has not ended."""

from datetime import date, timedelta, timezone

import dagster as dg

from analytics_assets.reports.assets import START_DATE, partitions_for
from analytics_assets.reports.spec import ReportSpec


def build_report_schedule(spec: ReportSpec) -> dg.ScheduleDefinition:
    partitions = partitions_for(spec)
    selection = [spec.name] + ([f"{spec.name}_delivery"] if spec.delivery_method == "email" else [])
    job = dg.define_asset_job(f"{spec.name}_job", selection=selection, partitions_def=partitions)

    @dg.schedule(name=f"{spec.name}_schedule", cron_schedule=spec.schedule, execution_timezone="UTC", job=job,
                 default_status=dg.DefaultScheduleStatus.STOPPED,
                 description=f"{spec.name} at {spec.schedule} UTC, for the last complete period.")
    def report_schedule(context: dg.ScheduleEvaluationContext):
        if partitions is None:
            return dg.RunRequest(run_key=f"{spec.name}-{context.scheduled_execution_time.isoformat()}")
        tick = context.scheduled_execution_time.astimezone(timezone.utc)
        key = last_complete_period(spec, tick.date()).isoformat()
        if key < START_DATE:
            return dg.SkipReason(f"no complete period before {tick.isoformat()}")
        return dg.RunRequest(run_key=f"{spec.name}-{key}", partition_key=key)

    return report_schedule


def last_complete_period(spec: ReportSpec, today: date) -> date:
    """The partition key (first day) of the last period that ended before `today`."""
    if spec.cadence == "monthly":
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if spec.cadence == "weekly":
        return today - timedelta(days=today.weekday() + 7)
    return today - timedelta(days=1)
