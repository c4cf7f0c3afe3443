"""The web jobs and the hourly refresh of the analyses."""


from datetime import timedelta, timezone

import dagster as dg

from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.web.analyses import ANALYSES, WEB_DAYS, WEB_GROUP

# Load new landing files, then refresh the analyses for the run's days (the file sensor's job).
web_analytics_job = dg.define_asset_job(
    "web_analytics_job",
    selection=dg.AssetSelection.groups(WEB_GROUP),
    partitions_def=WEB_DAYS,
    description="Loads new metric files from the landing folder, then rebuilds the web analyses for the run's days.",
)

# The analyses alone, for the hourly refresh and for backfills of past days.
web_analyses_job = dg.define_asset_job(
    "web_analyses_job",
    selection=dg.AssetSelection.assets(*(a.name for a in ANALYSES)),
    partitions_def=WEB_DAYS,
    description="Rebuilds the web analyses (moving average, YoY, anomalies, seasonality) for a range of days.",
)


@dg.schedule(name="web_analyses_hourly", job=web_analyses_job, cron_schedule="10 * * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def web_analyses_hourly_schedule(context: dg.ScheduleEvaluationContext):
    """Each hour, today's analyses as of the hour; just after midnight, yesterday's, complete."""
    as_of = context.scheduled_execution_time.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if as_of.hour == 0:
        yesterday = (as_of - timedelta(days=1)).date().isoformat()
        return dg.RunRequest(run_key=f"web-analyses-{yesterday}-final", partition_key=yesterday)
    return dg.RunRequest(run_key=f"web-analyses-{as_of.isoformat()}", partition_key=as_of.date().isoformat(),
                         tags={AS_OF_TAG: as_of.isoformat()})
