"""The web analyses: one `.sql` file each, one daily partition per day, built from the hourly rollup.

A run covers a range of days, built aside, gated and swapped in day by day
(warehouse/day_range_asset.py). A day's partition is as of the day's end, unless the run says
otherwise (the hourly schedule's `analytics/as_of`); only whole hours before that are used, so a
rerun gives the same rows for the same data.
"""


from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from analytics_assets import settings
from analytics_assets.landing.assets import feed_days
from analytics_assets.operations.anomaly_alerts import send_anomaly_alerts
from analytics_assets.warehouse.columns import table_metadata
from analytics_assets.warehouse.day_range_asset import DayRangeTable, build_day_range_asset
from analytics_assets.warehouse.sql import load_sql
from analytics_assets.warehouse.sql_table_asset import Gate, build_days, unique_key
from analytics_assets.web.load import HOURLY, WEB_FEED

HERE = Path(__file__).parent
WEB_GROUP = "web"
# Baseline and profile length, and how many past weeks a z-score needs.
BASELINE_WEEKS = 8
MIN_BASELINE_WEEKS = 3
WEB_DAYS = feed_days(WEB_FEED)  # from ANALYTICS_WEB_START_DATE, today's included


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


def _summary(analysis: Analysis):
    def summary(wh, first_day: date, last_day: date, params: dict, context: dg.AssetExecutionContext) -> dict:
        days = {"a": first_day, "b": last_day}
        extra = {"dagster/row_count": int(wh.scalar(
            f"SELECT count() FROM {analysis.name} WHERE date BETWEEN {{a:Date}} AND {{b:Date}}", days))}
        if analysis.name == "website_metrics_anomalies":  # mails the last complete hour's anomalies
            extra["anomalies"] = int(wh.scalar(
                "SELECT countIf(status = 'ANOMALY') FROM website_metrics_anomalies"
                " WHERE date BETWEEN {a:Date} AND {b:Date}", days))
            extra.update(send_anomaly_alerts(wh, context.resources.smtp, params["as_of"], context.log))
        return extra

    return summary


def build_analysis_asset(analysis: Analysis) -> dg.AssetsDefinition:
    return build_day_range_asset(DayRangeTable(
        name=analysis.name,
        group=WEB_GROUP,
        deps=(HOURLY,),
        partitions_def=WEB_DAYS,
        description=f"{analysis.description} Daily partitions, swapped in day by day after the gates pass.",
        gates=analysis.gates,
        metadata=table_metadata(HERE / f"{analysis.name}.sql"),
        sql=lambda: load_sql(HERE / f"{analysis.name}.sql"),
        parameters=analysis_parameters,
        summary=_summary(analysis),
        resources=frozenset({"smtp"} if analysis.name == "website_metrics_anomalies" else ()),
    ))


analysis_assets = [build_analysis_asset(a) for a in ANALYSES]
