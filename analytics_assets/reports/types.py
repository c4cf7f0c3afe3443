"""The report types a definition's `report_type` may name. A type is one module with a `build`
that computes a `document.Report` for a period; the file, the schedule, the delivery and the
command line are the same for every type. A new type is a module and a line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics_assets.reports import customer_segments, sales_summary, web_traffic


@dataclass(frozen=True)
class ReportType:
    name: str
    filters: tuple[str, ...]  # the filter names a definition may use
    deps: tuple[str, ...]  # the assets the report reads
    build: Callable  # (wh, spec, first_day, last_day, label) -> Report
    summary: str


REPORT_TYPES = {t.name: t for t in (
    ReportType("sales_summary", sales_summary.FILTERS, ("sales_fact",), sales_summary.build,
               "KPIs against the previous period, daily trend, by region/segment/category, top customers and products"),
    ReportType("customer_segments", customer_segments.FILTERS, ("sales_fact",), customer_segments.build,
               "RFM segment sizes, revenue and CLV by segment at the period's end, movers since the previous period"),
    ReportType("web_traffic", web_traffic.FILTERS, ("website_metrics_hourly", "website_metrics_anomalies"),
               web_traffic.build, "traffic KPIs against the previous period, daily trend, anomalies of the period"),
)}
