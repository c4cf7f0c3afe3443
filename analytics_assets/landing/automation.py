"""What triggers a landing feed's job: a file sensor, the catch-up of past days a late file
touched, and an hourly refresh of today's partition.

Sensors never open ClickHouse (chDB is one process at a time): the file sensor lists the
folder, and the job decides what is new from the registry, so a file is loaded once however
often the sensor fires.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import dagster as dg

from analytics_assets.landing.files import list_landing_files
from analytics_assets.landing.load import LandingFeed
from analytics_assets.logical_time import AS_OF_TAG

LANDING_TAG = "analytics/landing_files"


def landing_file_sensor(feed: LandingFeed, job) -> dg.SensorDefinition:
    """`<kind>_landing_sensor`: a run of `job` for today's partition when files appear or change in
    the feed's folder (within a minute: the sensor ticks every 30 s)."""

    @dg.sensor(name=f"{feed.kind}_landing_sensor", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"A run of {job.name} for today when files appear or change in "
                           f"$ANALYTICS_DATA_DIR/landing/{feed.kind}/.")
    def _sensor(context: dg.SensorEvaluationContext):
        folder = feed.settings.folder()
        current = {f.name: [f.size, f.mtime_ns] for f in list_landing_files(folder)}
        seen = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(n for n, signature in current.items() if seen.get(n) != signature)
        context.update_cursor(json.dumps(current, sort_keys=True))
        if not changed:
            return dg.SkipReason(f"no new or changed files in {folder}")
        batch = json.dumps({n: current[n] for n in changed}, sort_keys=True)
        # The tick is the run's logical time (kept in its tags, so a rerun means the same): today's
        # partition uses what came before it, and a day still in progress is marked incomplete.
        now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        return dg.RunRequest(
            run_key=f"landing-{hashlib.sha1(batch.encode()).hexdigest()[:16]}",
            partition_key=now.date().isoformat(),
            tags={LANDING_TAG: _shorten(", ".join(changed)), AS_OF_TAG: now.isoformat()},
        )

    return _sensor


def loaded_days_sensor(name: str, feed: LandingFeed, monitored_job, request_job,
                       reach: Callable[[], timedelta] = timedelta) -> dg.SensorDefinition:
    """Files can hold past days (late data, a backfill export): after a successful run of
    `monitored_job`, one run of `request_job` over the days its load of `feed` touched before the
    run's own (never before the feed's START_DATE).
    `reach` is how far back a day's result can see a row (a funnel's window crosses midnight):
    the days from the first loaded row's time minus `reach`."""

    @dg.run_status_sensor(name=name, run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[monitored_job],
                          request_job=request_job, default_status=dg.DefaultSensorStatus.RUNNING,
                          description=f"Rebuilds {request_job.name} for the past days a {monitored_job.name} run "
                                      "loaded, in one run.")
    def _sensor(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        # This run's own materialization (a later run may have materialized the asset since).
        records = context.instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        loaded = [r.event_log_entry.asset_materialization for r in records
                  if r.event_log_entry.asset_materialization.asset_key == dg.AssetKey(feed.table)]
        if not loaded:
            return dg.SkipReason("this run did not load the landing folder")
        first = loaded[-1].metadata.get("first_time_loaded")
        run_first = run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start")
        if not first or not first.value or not run_first:
            return dg.SkipReason("nothing loaded, or the run had no days")
        first_day = max((datetime.fromisoformat(first.value) - reach()).date(),
                        date.fromisoformat(feed.settings.start_date()))
        last_day = date.fromisoformat(run_first) - timedelta(days=1)
        if first_day > last_day:
            return dg.SkipReason("the loaded days were the run's own")
        # The same logical time as the run that loaded the files: without it each day would be as
        # of its own end, and a result that reaches past midnight would miss what follows it.
        carried = {AS_OF_TAG: run.tags[AS_OF_TAG]} if AS_OF_TAG in run.tags else {}
        return dg.RunRequest(
            run_key=f"loaded-days-{run.run_id}",
            tags={"dagster/asset_partition_range_start": first_day.isoformat(),
                  "dagster/asset_partition_range_end": last_day.isoformat(),
                  "analytics/trigger": f"files loaded by run {run.run_id[:8]}", **carried},
        )

    return _sensor


def hourly_partition_schedule(name: str, job, cron_schedule: str, *, reach: Callable[[], timedelta] = timedelta,
                              default_status=dg.DefaultScheduleStatus.STOPPED) -> dg.ScheduleDefinition:
    """Each hour, as of the hour: every day whose results the last hour's data can change, in one
    run. That is today, yesterday just after midnight (so that it closes complete), and, for a
    result that sees `reach` past its day (a funnel's window), the days that reach into the hour."""

    @dg.schedule(name=name, job=job, cron_schedule=cron_schedule, execution_timezone="UTC",
                 default_status=default_status)
    def _schedule(context: dg.ScheduleEvaluationContext):
        as_of = context.scheduled_execution_time.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        first, last = (as_of - timedelta(hours=1) - reach()).date(), as_of.date()
        tags = {AS_OF_TAG: as_of.isoformat()}
        if first == last:
            return dg.RunRequest(run_key=f"{name}-{as_of.isoformat()}", partition_key=last.isoformat(), tags=tags)
        return dg.RunRequest(run_key=f"{name}-{as_of.isoformat()}",
                             tags={**tags, "dagster/asset_partition_range_start": first.isoformat(),
                                   "dagster/asset_partition_range_end": last.isoformat()})

    return _schedule


def _shorten(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} chars)"
