"""The sales_summary report: its numbers from ClickHouse (one `.sql` per table of the report, all
over the same filtered sales), and its workbook (or CSV): KPIs against the previous period, a
daily trend, breakdowns by region, segment and category, top customers and products, charts."""

from __future__ import annotations

from datetime import date
from string import Template

from analytics_assets.reports.document import Chart, Report, Table, compare
from analytics_assets.reports.spec import ReportSpec, previous_period
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.sql import sql_file

FILTERS = ("region", "customer_segment", "category", "country")  # sales_fact columns
BREAKDOWNS = (("region", "By region"), ("customer_segment", "By segment"), ("category", "By category"))


def _query(wh, name: str, params: dict, title: str = "", **identifiers: str) -> Table:
    filtered = f"({sql_file(__file__, 'sales_summary_filtered')})"
    quoted = {k: quote_identifier(v) for k, v in identifiers.items()}
    sql = Template(sql_file(__file__, name)).substitute(filtered=filtered, **quoted)
    result = wh.query(sql, params)
    return Table(title or name, list(result.column_names), [tuple(r) for r in result.result_rows])


def unknown_filter_values(wh, spec: ReportSpec, table: str = SALES_FACT, what: str = "sale") -> list[str]:
    """Filter values that match no row of `table` at all (a typo would silently empty the report)."""
    problems = []
    for column, values in spec.filters.items():
        known = {v for (v,) in wh.rows(f"SELECT DISTINCT {quote_identifier(column)} FROM {quote_identifier(table)}"
                                       f" WHERE {quote_identifier(column)} IN {{values:Array(String)}}",
                                       {"values": list(values)})}
        problems += [f"filters.{column}: {v!r} matches no {what}" for v in values if v not in known]
    return problems


def refuse_unknown_filter_values(wh, spec: ReportSpec, table: str = SALES_FACT, what: str = "sale") -> None:
    unknown = unknown_filter_values(wh, spec, table, what)
    if unknown:
        raise ValueError(f"{spec.source or spec.name}: " + "; ".join(unknown))


def build(wh, spec: ReportSpec, first_day: date, last_day: date, label: str) -> Report:
    require_complete(wh, (SALES_FACT,))  # a part-applied fact: keep the previous file
    refuse_unknown_filter_values(wh, spec)
    filters = {name: list(spec.filters.get(name, ())) for name in FILTERS}
    params = {"first_day": first_day, "last_day": last_day, **filters}
    prev_first, prev_last = previous_period(first_day, last_day, spec)
    current = _query(wh, "sales_summary_kpis", params)
    previous = _query(wh, "sales_summary_kpis", {**params, "first_day": prev_first, "last_day": prev_last})
    return Report(
        spec=spec, first_day=first_day, last_day=last_day, label=label,
        kpis=compare(current.columns, current.rows[0], previous.rows[0]),
        tables=[_query(wh, "sales_summary_daily", params, "Daily trend"),
                *(_query(wh, "sales_summary_breakdown", params, title, dimension=column)
                  for column, title in BREAKDOWNS),
                _query(wh, "sales_summary_top_customers", params, "Top customers"),
                _query(wh, "sales_summary_top_products", params, "Top products")],
        charts=[Chart("line", "Daily trend", "Net revenue per day"),
                Chart("bar", "By region", "Net revenue by region"),
                Chart("bar", "By category", "Net revenue by category")],
        note="completed sales, net revenue",
    )
