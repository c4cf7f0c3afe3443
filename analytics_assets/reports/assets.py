"""Each report definition becomes two assets partitioned by its period: `<name>` (the file,
`$ANALYTICS_DATA_DIR/reports/<name>/<period>.xlsx`) and `<name>_delivery` (the e-mail); its
schedule is in schedules.py, the sensor that retries deliveries in sensors.py. Backfilling a past
period rebuilds exactly that period's file."""

import logging
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


def report_definitions():
    """The report definitions found, their assets, and what was left out (each error logged)."""
    specs, errors = load_reports(report_folders())
    assets = [asset for spec in specs for asset in build_report_assets(spec)]
    for error in errors:
        log.warning("report definition left out: %s", error)
    return specs, assets, errors
