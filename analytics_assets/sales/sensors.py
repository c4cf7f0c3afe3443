"""Refresh the dashboards when the source moved, and after an ingest run that brought new data."""

from datetime import datetime, timezone

import dagster as dg

from analytics_assets.ingest.jobs import ingest_job, ingest_reconcile_job
from analytics_assets.ingest.sensors import build_source_changed_sensor
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.sales.jobs import hourly_refresh_job, sales_dashboard_job

source_changed_refresh = build_source_changed_sensor(
    "source_changed_refresh", hourly_refresh_job,
    "Requests hourly_refresh_job each time the source's max(updated_at) moves past the last one seen "
    "(PostgreSQL only is asked: the sensor never opens chDB).")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job, ingest_reconcile_job],
    request_job=sales_dashboard_job,
    default_status=dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=30,
)
def sales_dashboard_after_ingest(context: dg.RunStatusSensorContext):
    """New source data arrived (row versions newer than the replicas had, or deletes): refresh the
    dashboards, at the time the ingest finished."""
    new = 0
    for record in context.instance.get_records_for_run(
        context.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records:
        value = record.event_log_entry.asset_materialization.metadata.get("rows_new")
        new += int(value.value) if value is not None else 0
    if new == 0:
        return dg.SkipReason(f"ingest run {context.dagster_run.run_id} brought no new row versions")
    ended = context.instance.get_run_stats(context.dagster_run.run_id).end_time
    as_of = datetime.fromtimestamp(ended, tz=timezone.utc).isoformat()
    return dg.RunRequest(run_key=f"after-{context.dagster_run.run_id}", tags={AS_OF_TAG: as_of})
