"""The web_traffic report: each metric's value over the period against the previous period, a
daily trend, and the hours `website_metrics_anomalies` flagged in the period. Additive metrics
(pageviews, sessions) are summed, gauges (ANALYTICS_WEB_GAUGE_METRICS: rates, durations) averaged
over their points, as in the web analyses; the filter is `metric_name`."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from analytics_assets import settings
from analytics_assets.reports.document import Chart, Report, Table, change_pct
from analytics_assets.reports.sales_summary import refuse_unknown_filter_values
from analytics_assets.reports.spec import ReportSpec, previous_period
from analytics_assets.warehouse.sql import sql_file
from analytics_assets.web.load import HOURLY

FILTERS = ("metric_name",)
ANOMALIES = "website_metrics_anomalies"
MAX_SERIES = 6


def build(wh, spec: ReportSpec, first_day: date, last_day: date, label: str) -> Report:
    for table in (HOURLY, ANOMALIES):
        if not wh.table_exists(table):
            raise ValueError(f"{spec.source or spec.name}: table {table} does not exist yet: load web metrics and "
                             "run the web analyses (web_analytics_job) first")
    refuse_unknown_filter_values(wh, spec, HOURLY, "web metric")
    prev_first, prev_last = previous_period(first_day, last_day, spec)
    gauges = list(settings.web_gauge_metrics())
    params = {"first_day": first_day, "last_day": last_day, "prev_first": prev_first, "prev_last": prev_last,
              "gauges": gauges, "metric_name": list(spec.filters.get("metric_name", ()))}
    kpis = [(name, now, before, change_pct(now, before))
            for name, now, before in wh.rows(sql_file(__file__, "web_traffic_kpis"), params)]
    metrics = [name for name, *_ in kpis]  # additive first, then gauges
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    values = {(d, m): v for d, m, v in wh.rows(sql_file(__file__, "web_traffic_daily"), params)}
    daily = Table("Daily trend", ["date", *metrics], [(d, *(values.get((d, m)) for m in metrics)) for d in days])
    result = wh.query(sql_file(__file__, "web_traffic_anomalies"), params)
    anomalies = Table("Anomalies", list(result.column_names), [tuple(r) for r in result.result_rows])
    per_metric = Counter(row[1] for row in anomalies.rows)
    kpis.append(("anomalous_hours", len(anomalies.rows), None, None))
    additive = [m for m in metrics if m not in gauges][:MAX_SERIES]
    charts = [Chart("bar", "Anomalies by metric", "Anomalous hours by metric")]
    if additive:
        charts.insert(0, Chart("line", "Daily trend", f"{', '.join(additive)} per day", 2, 1 + len(additive)))
    return Report(
        spec=spec, first_day=first_day, last_day=last_day, label=label, kpis=kpis,
        tables=[daily, anomalies, Table("Anomalies by metric", ["metric_name", "anomalous_hours"],
                                        sorted(per_metric.items(), key=lambda kv: (-kv[1], kv[0])))],
        charts=charts,
        note="web metrics from the hourly rollup; additive metrics summed, gauges averaged over their points; "
             f"anomalies: |z| above the threshold ({settings.web_anomaly_z():g})",
    )
