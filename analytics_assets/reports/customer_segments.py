"""The customer_segments report: the seed's RFM segments as they stood at the end of the period
(sizes, the period's revenue, 3-year CLV by segment) and the customers who moved since the end of
the period before. Segments are computed by the same SQL as `customer_rfm` (365 days before each
date), so a past month's report is the same whenever it is built; filters pick customers by
their region, business segment or country."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from string import Template

from analytics_assets.customers.assets import CUSTOMER_RFM, RFM_WINDOW_DAYS
from analytics_assets.reports.document import Chart, Report, Table, compare
from analytics_assets.reports.sales_summary import refuse_unknown_filter_values
from analytics_assets.reports.spec import ReportSpec, previous_period
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.sql import load_sql, render_sql, sql_file
from analytics_assets.warehouse.tables import scratch_tables

FILTERS = ("region", "customer_segment", "country")  # the customer's attributes in sales_fact
RFM_SQL = CUSTOMER_RFM.sql_dir / f"{CUSTOMER_RFM.name}.sql"


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def _segments_at(wh, table: str, as_of: datetime) -> None:
    """The RFM segments as of `as_of` into the scratch table `table` (customer_rfm's own SQL and window)."""
    wh.command(render_sql(load_sql(RFM_SQL), target=table), CUSTOMER_RFM.query_parameters(as_of))


def _query(wh, name: str, customers: str, params: dict, title: str) -> Table:
    sql = Template(sql_file(__file__, name)).substitute(customers=f"({customers})")
    result = wh.query(sql, params)
    return Table(title, list(result.column_names), [tuple(r) for r in result.result_rows])


def build(wh, spec: ReportSpec, first_day: date, last_day: date, label: str) -> Report:
    require_complete(wh, (SALES_FACT,))
    refuse_unknown_filter_values(wh, spec)
    prev_first, prev_last = previous_period(first_day, last_day, spec)
    filters = {name: list(spec.filters.get(name, ())) for name in FILTERS}
    with scratch_tables(wh, "report_rfm", "report_rfm", "report_rfm") as (end, before, before_that):
        # The period ends at last_day's end; the one before ends where this one starts.
        for table, as_of in ((end, _start(last_day + timedelta(days=1))), (before, _start(first_day)),
                             (before_that, _start(prev_first))):
            _segments_at(wh, table, as_of)

        def customers(current: str, previous: str) -> str:
            return Template(sql_file(__file__, "customer_segments_customers")).substitute(
                current=quote_identifier(current), previous=quote_identifier(previous))

        now = customers(end, before)
        params = {"first_day": first_day, "last_day": last_day, **filters}
        current = _query(wh, "customer_segments_kpis", now, params, "kpis")
        previous = _query(wh, "customer_segments_kpis", customers(before, before_that),
                          {**params, "first_day": prev_first, "last_day": prev_last}, "kpis")
        tables = [_query(wh, "customer_segments_segments", now, params, "Segments"),
                  _query(wh, "customer_segments_movers", now, params, "Movers"),
                  _query(wh, "customer_segments_top_movers", now, params, "Top movers")]
    return Report(
        spec=spec, first_day=first_day, last_day=last_day, label=label,
        kpis=compare(current.columns, current.rows[0], previous.rows[0]), tables=tables,
        charts=[Chart("bar", "Segments", "Customers by segment at the period's end", 2, 3),
                Chart("bar", "Segments", "Net revenue of the period by segment", 5, 5)],
        note=f"RFM segments over the {RFM_WINDOW_DAYS} days before {last_day + timedelta(days=1)} (customers with a completed "
             f"sale), against {first_day}; completed sales, net revenue; CLV: the seed's simple 3-year CLV",
    )
