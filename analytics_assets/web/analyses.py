"""The web analyses: one `.sql` file each, one daily partition per day, built from the hourly rollup.

A run covers a range of days (one partition, or a whole backfill in a single run): rows for
those days are built aside, gated, and swapped in day by day with `REPLACE PARTITION`, so a
reader sees each day either before or after, and other days are untouched. A day's partition is
as of the day's end, unless the run says otherwise (the hourly schedule's `analytics/as_of`);
only whole hours before that are used, so a rerun gives the same rows for the same data.
"""


from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from analytics_assets import settings
from analytics_assets.logical_time import resolve_as_of
from analytics_assets.operations.anomaly_alerts import send_anomaly_alerts
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.warehouse.columns import built_schema, table_metadata
from analytics_assets.warehouse.sql import load_sql
from analytics_assets.warehouse.sql_table_asset import (
    SINGLE_RUN_BACKFILL,
    Gate,
    build_days,
    gate_check_specs,
    gated,
    unique_key,
)
from analytics_assets.web.load import HOURLY

HERE = Path(__file__).parent
WEB_GROUP = "web"
# Baseline and profile length, and how many past weeks a z-score needs.
BASELINE_WEEKS = 8
MIN_BASELINE_WEEKS = 3


def web_days() -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists, so the hourly schedule can refresh it.
    return dg.DailyPartitionsDefinition(start_date=settings.web_start_date(), timezone="UTC", end_offset=1)


WEB_DAYS = web_days()


@dataclass(frozen=True)
class Analysis:
    name: str
    description: str
    gates: tuple[Gate, ...]


def status_known() -> Gate:
    return Gate("status_known", "Every status is NORMAL, ANOMALY or NO_BASELINE; z-scores are finite.",
                "SELECT countIf(status NOT IN ('NORMAL', 'ANOMALY', 'NO_BASELINE') OR NOT isFinite(ifNull(z_score, 0))),"
                " '' FROM $target")


ANALYSES = (
    Analysis("website_metrics_moving_average",
             "Per metric and day: the day's value and its 7-calendar-day moving average.",
             (unique_key("date", "metric_name"),)),
    Analysis("website_metrics_yoy",
             "Per metric and day: the value against the same day a year earlier, and the growth in percent.",
             (unique_key("date", "metric_name"),)),
    Analysis("website_metrics_anomalies",
             "Per metric and hour: z-score against the same hour of the week over the previous "
             f"{BASELINE_WEEKS} weeks; |z| above ANALYTICS_WEB_ANOMALY_Z is an ANOMALY.",
             (unique_key("metric_name", "hour"), status_known())),
    Analysis("website_metrics_seasonality",
             f"Per metric, as of each day: mean and median by day of week and hour over {BASELINE_WEEKS} weeks.",
             (unique_key("date", "metric_name", "day_of_week", "hour_of_day"),)),
)


def analysis_parameters(first_day: date, last_day: date, as_of: datetime) -> dict:
    """The SQL parameters for days [first_day, last_day] as of `as_of` (whole hours before it)."""
    day_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    until = min(as_of.replace(minute=0, second=0, microsecond=0), day_end)
    return {
        "first_day": first_day,
        "last_day": last_day,
        "until": until,
        "as_of": as_of,
        "gauges": list(settings.web_gauge_metrics()),
        "weeks": BASELINE_WEEKS,
        "min_samples": MIN_BASELINE_WEEKS,
        "threshold": settings.web_anomaly_z(),
    }


def build_analysis(wh, analysis: Analysis, params: dict, results: list[dg.AssetCheckResult]) -> None:
    """Build, gate and swap in the days of `params` (raises GateFailed, keeping the old days)."""
    build_days(wh, analysis.name, load_sql(HERE / f"{analysis.name}.sql"), analysis.gates, params, results)


def build_analysis_asset(analysis: Analysis) -> dg.AssetsDefinition:
    decorator = dict(
        name=analysis.name,
        group_name=WEB_GROUP,
        deps=[HOURLY],
        kinds={"clickhouse"},
        partitions_def=WEB_DAYS,
        backfill_policy=SINGLE_RUN_BACKFILL,
        pool=clickhouse_pool(),
        description=f"{analysis.description} Daily partitions, swapped in day by day after the gates pass.",
        check_specs=gate_check_specs(analysis.name, analysis.gates),
        metadata=table_metadata(HERE / f"{analysis.name}.sql"),
    )

    def run(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource, smtp: SmtpResource | None):
        window = context.partition_time_window
        first_day, last_day = window.start.date(), (window.end - timedelta(days=1)).date()
        params = analysis_parameters(first_day, last_day, resolve_as_of(context))
        results: list[dg.AssetCheckResult] = []
        with clickhouse.get_client() as wh:
            yield from gated(analysis.name, results, lambda: build_analysis(wh, analysis, params, results))
            rows = wh.scalar(f"SELECT count() FROM {analysis.name} WHERE date BETWEEN {{a:Date}} AND {{b:Date}}",
                             {"a": first_day, "b": last_day})
            extra = {}
            if analysis.name == "website_metrics_anomalies":
                extra["anomalies"] = int(wh.scalar(
                    "SELECT countIf(status = 'ANOMALY') FROM website_metrics_anomalies"
                    " WHERE date BETWEEN {a:Date} AND {b:Date}", {"a": first_day, "b": last_day}))
                extra.update(send_anomaly_alerts(wh, smtp, params["as_of"], context.log))
            extra["dagster/column_schema"] = built_schema(wh, analysis.name)
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": int(rows),
                "days": f"{first_day.isoformat()} .. {last_day.isoformat()}",
                "as_of": params["as_of"].isoformat(),
                "data_until": params["until"].isoformat(),
                **extra,
            },
            check_results=results,
        )

    if analysis.name == "website_metrics_anomalies":  # mails the last complete hour's anomalies
        def analysis_asset(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource, smtp: SmtpResource):
            yield from run(context, clickhouse, smtp)
    else:
        def analysis_asset(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
            yield from run(context, clickhouse, None)

    return dg.asset(**decorator)(analysis_asset)


analysis_assets = [build_analysis_asset(a) for a in ANALYSES]
