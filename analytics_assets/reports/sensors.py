"""The sensor that retries report deliveries that were due and did not go out."""

from datetime import datetime, timezone

import dagster as dg

from analytics_assets import settings
from analytics_assets.reports.assets import partitions_for
from analytics_assets.reports.spec import ReportSpec


def build_delivery_sensor(specs: list[ReportSpec]) -> dg.SensorDefinition:
    """Reports whose file was built but whose delivery has not succeeded: asks for the delivery
    again (at most every 15 minutes per period) and says which are overdue."""
    mailed = [s for s in specs if s.delivery_method == "email" and partitions_for(s) is not None]
    jobs = [dg.define_asset_job(f"{s.name}_delivery_job", selection=[f"{s.name}_delivery"],
                                partitions_def=partitions_for(s)) for s in mailed]

    @dg.sensor(name="report_deliveries_due", jobs=jobs, minimum_interval_seconds=300,
               default_status=dg.DefaultSensorStatus.RUNNING)
    def report_deliveries_due(context: dg.SensorEvaluationContext):
        bucket = datetime.now(timezone.utc).strftime("%Y%m%d%H") + str(datetime.now(timezone.utc).minute // 15)
        requests, overdue = [], []
        for spec, job in zip(mailed, jobs):
            built = context.instance.get_materialized_partitions(dg.AssetKey(spec.name))
            sent = context.instance.get_materialized_partitions(dg.AssetKey(f"{spec.name}_delivery"))
            for key in sorted(built - sent):
                overdue.append(f"{spec.name} {key}")
                requests.append(dg.RunRequest(run_key=f"{spec.name}-{key}-retry-{bucket}", job_name=job.name,
                                              partition_key=key))
        if not requests:
            return dg.SkipReason("every built report has been delivered")
        context.log.warning(f"reports due and not delivered: {', '.join(overdue)}")
        if not settings.smtp_configured():  # nothing could go out: say so, launch nothing
            return dg.SkipReason(f"{settings.SMTP['host']} is not set; waiting for delivery: {', '.join(overdue)}")
        return requests

    return report_deliveries_due
