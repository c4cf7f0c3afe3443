"""Each report definition becomes two assets partitioned by its period: `<name>` (the file,
`$ANALYTICS_DATA_DIR/reports/<name>/<period>.xlsx`) and `<name>_delivery` (the e-mail), a
schedule `<name>_schedule` on its cron that asks for the last complete period, and one sensor
that retries deliveries that were due and did not go out. Backfilling a past period rebuilds
exactly that period's file."""

import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from analytics_assets import settings
from analytics_assets.reports import delivery, document
from analytics_assets.reports.types import REPORT_TYPES
from analytics_assets.reports.spec import ReportSpec, load_reports, period_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.resources.smtp import SmtpResource

REPORTS_GROUP = "reports"
EXAMPLES = Path(__file__).with_name("specs")
START_DATE = "2024-01-01"
log = logging.getLogger(__name__)


def report_folders() -> list[Path]:
    return [EXAMPLES, settings.reports_dir()]


def partitions_for(spec: ReportSpec) -> dg.PartitionsDefinition | None:
    if spec.cadence == "monthly":
        return dg.MonthlyPartitionsDefinition(start_date=START_DATE, timezone="UTC")
    if spec.cadence == "weekly":
        return dg.WeeklyPartitionsDefinition(start_date=START_DATE, day_offset=1, timezone="UTC")
    if spec.cadence == "daily":
        return dg.DailyPartitionsDefinition(start_date=START_DATE, timezone="UTC")
    return None


def report_path(spec: ReportSpec, label: str) -> Path:
    return settings.report_output_dir() / spec.name / f"{label}.{spec.extension}"


def build_report_file(wh, spec: ReportSpec, key: str | None) -> tuple[Path, document.Report]:
    """The same code for the asset and for `analytics-assets report run`, whatever the type."""
    first, last, label = period_of(spec, key)
    report = REPORT_TYPES[spec.report_type].build(wh, spec, first, last, label)
    return document.write(report, report_path(spec, label)), report


def deliver_report(wh, smtp, spec: ReportSpec, key: str | None) -> list[delivery.Delivery]:
    first, last, label = period_of(spec, key)
    path = report_path(spec, label)
    if not path.exists():
        raise FileNotFoundError(f"{spec.name} {label}: {path} does not exist; build the report first")
    subject = f"{spec.description or spec.name}: {label}"
    filters = "; ".join(f"{k} in {', '.join(v)}" for k, v in spec.filters.items()) or "none"
    body = f"Attached: {spec.name} for {first.isoformat()} to {last.isoformat()} (UTC).\nFilters: {filters}.\n"
    return delivery.deliver(wh, smtp, report=spec.name, period=label, path=path, recipients=spec.recipients,
                            subject=subject, body=body)


def _key(context: dg.AssetExecutionContext) -> str | None:
    return context.partition_key if context.has_partition_key else None


# An SMTP outage delays a delivery: retried in-run after 1, 3 and 7 minutes, then by the sensor.
DELIVERY_RETRIES = dg.RetryPolicy(max_retries=3, delay=60, backoff=dg.Backoff.EXPONENTIAL)


def build_report_assets(spec: ReportSpec, *, retries: dg.RetryPolicy | None = DELIVERY_RETRIES
                        ) -> list[dg.AssetsDefinition]:
    partitions = partitions_for(spec)

    @dg.asset(name=spec.name, group_name=REPORTS_GROUP, deps=list(REPORT_TYPES[spec.report_type].deps),
              partitions_def=partitions,
              kinds={"excel" if spec.format == "excel" else "csv"}, pool=clickhouse_pool(),
              description=f"{spec.description or spec.name}: {spec.report_type}, {spec.date_range}"
                          f" (definition: {Path(spec.source).name}).")
    def report_file(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        with clickhouse.get_client() as wh:
            path, summary = build_report_file(wh, spec, _key(context))
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(path)), "period": f"{summary.first_day} .. {summary.last_day}",
            **{f"kpi_{name}": str(now) for name, now, _, _ in summary.kpis}})

    assets = [report_file]
    if spec.delivery_method == "email":
        @dg.asset(name=f"{spec.name}_delivery", group_name=REPORTS_GROUP, deps=[spec.name],
                  partitions_def=partitions, kinds={"email"}, pool=clickhouse_pool(),
                  retry_policy=retries, output_required=False,
                  description=f"Mails {spec.name} to {', '.join(spec.recipients)}, once per period and recipient.")
        def report_delivery(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource, smtp: SmtpResource):
            if not smtp.is_configured:  # nothing to retry: the period stays undelivered, for when a server is set
                context.log.warning(f"{spec.name}: not mailed, ANALYTICS_SMTP_HOST is unset (the file is built)")
                return
            with clickhouse.get_client() as wh:
                try:
                    results = deliver_report(wh, smtp, spec, _key(context))
                except delivery.DeliveryFailed as exc:
                    raise dg.Failure(str(exc)) from None  # retried by the policy, then by the sensor
            yield dg.MaterializeResult(metadata={
                d.recipient: f"{d.status} (attempt {d.attempts}, {d.message_id})" for d in results})

        assets.append(report_delivery)
    return assets


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


def report_definitions():
    specs, errors = load_reports(report_folders())
    assets, schedules = [], []
    for spec in specs:
        assets += build_report_assets(spec)
        schedules.append(build_report_schedule(spec))
    for error in errors:
        log.warning("report definition left out: %s", error)
    return specs, assets, schedules, errors


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
