"""React to landing files: the file sensor, and the catch-up of days that late files touched.

Sensors never open ClickHouse (chDB is one process at a time): the file sensor lists the
folder, and the job decides what is new from the registry, so a file is loaded once however
often the sensor fires.
"""


import hashlib
import json
from datetime import date, datetime, timedelta, timezone

import dagster as dg

from analytics_assets import settings
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.landing.files import list_landing_files
from analytics_assets.web.load import RAW
from analytics_assets.web.schedules import web_analytics_job, web_analyses_job

LANDING_TAG = "analytics/landing_files"


@dg.sensor(job=web_analytics_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def web_landing_sensor(context: dg.SensorEvaluationContext):
    """A run of web_analytics_job for today's partition when files appear or change in the folder."""
    folder = settings.landing_dir("web")
    current = {f.name: [f.size, f.mtime_ns] for f in list_landing_files(folder)}
    seen = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(name for name, signature in current.items() if seen.get(name) != signature)
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not changed:
        return dg.SkipReason(f"no new or changed files in {folder}")
    batch = json.dumps({name: current[name] for name in changed}, sort_keys=True)
    # The tick is the run's logical time (kept in its tags, so a rerun means the same): today's
    # analyses use the whole hours before it, and a day still in progress is marked incomplete.
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return dg.RunRequest(
        run_key=f"landing-{hashlib.sha1(batch.encode()).hexdigest()[:16]}",
        partition_key=now.date().isoformat(),
        tags={LANDING_TAG: _shorten(", ".join(changed)), AS_OF_TAG: now.isoformat()},
    )


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[web_analytics_job],
                      request_job=web_analyses_job, default_status=dg.DefaultSensorStatus.RUNNING)
def web_analyses_for_loaded_days(context: dg.RunStatusSensorContext):
    """Files can hold past days (late data, a backfill export): rebuild the analyses for the days a
    load touched before the run's own days, in one run over that range."""
    run = context.dagster_run
    event = context.instance.get_latest_materialization_event(dg.AssetKey(RAW))
    if event is None or event.run_id != run.run_id:
        return dg.SkipReason("this run loaded no new files")
    metadata = event.asset_materialization.metadata
    first = metadata.get("first_day_loaded")
    run_first = run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start")
    if not first or not first.value or not run_first:
        return dg.SkipReason("nothing loaded, or the run had no days")
    first_day = max(date.fromisoformat(first.value), date.fromisoformat(settings.web_start_date()))
    last_day = date.fromisoformat(run_first) - timedelta(days=1)
    if first_day > last_day:
        return dg.SkipReason("the loaded days were the run's own")
    return dg.RunRequest(
        run_key=f"loaded-days-{run.run_id}",
        tags={"dagster/asset_partition_range_start": first_day.isoformat(),
              "dagster/asset_partition_range_end": last_day.isoformat(),
              "analytics/trigger": f"files loaded by run {run.run_id[:8]}"},
    )


def _shorten(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} chars)"
