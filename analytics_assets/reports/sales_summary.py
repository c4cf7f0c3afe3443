"""The sales_summary report: its numbers from ClickHouse (one `.sql` per table of the report, all
over the same filtered sales), and its workbook (or CSV): KPIs against the previous period, a
daily trend, breakdowns by region, segment and category, top customers and products, charts."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from string import Template

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font

from analytics_assets.files import atomic_path
from analytics_assets.reports.spec import FILTERS, ReportSpec, previous_period
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.warehouse.identifiers import quote_identifier
from analytics_assets.warehouse.sql import sql_file

BREAKDOWNS = (("region", "By region"), ("customer_segment", "By segment"), ("category", "By category"))


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[tuple]


@dataclass(frozen=True)
class SalesSummary:
    spec: ReportSpec
    first_day: date
    last_day: date
    label: str
    kpis: list[tuple[str, object, object, object]]  # name, this period, previous period, change %
    daily: Table
    breakdowns: list[Table]
    top_customers: Table
    top_products: Table


def _query(wh, name: str, params: dict, **identifiers: str) -> Table:
    filtered = f"({sql_file(__file__, 'sales_summary_filtered')})"
    quoted = {k: quote_identifier(v) for k, v in identifiers.items()}
    sql = Template(sql_file(__file__, name)).substitute(filtered=filtered, **quoted)
    result = wh.query(sql, params)
    return Table(name, list(result.column_names), [tuple(r) for r in result.result_rows])


def unknown_filter_values(wh, spec: ReportSpec) -> list[str]:
    """Filter values that match no sale at all (a typo would silently empty the report)."""
    problems = []
    for column, values in spec.filters.items():
        known = {v for (v,) in wh.rows(f"SELECT DISTINCT {quote_identifier(column)} FROM sales_fact"
                                       f" WHERE {quote_identifier(column)} IN {{values:Array(String)}}",
                                       {"values": list(values)})}
        problems += [f"filters.{column}: {v!r} matches no sale" for v in values if v not in known]
    return problems


def build(wh, spec: ReportSpec, first_day: date, last_day: date, label: str) -> SalesSummary:
    require_complete(wh, (SALES_FACT,))  # a part-applied fact: keep the previous file
    unknown = unknown_filter_values(wh, spec)
    if unknown:
        raise ValueError(f"{spec.source or spec.name}: " + "; ".join(unknown))
    filters = {name: list(spec.filters.get(name, ())) for name in FILTERS}
    params = {"first_day": first_day, "last_day": last_day, **filters}
    prev_first, prev_last = previous_period(first_day, last_day, spec)
    current = _query(wh, "sales_summary_kpis", params)
    previous = _query(wh, "sales_summary_kpis", {**params, "first_day": prev_first, "last_day": prev_last})
    kpis = []
    for name, now, before in zip(current.columns, current.rows[0], previous.rows[0]):
        change = None
        if now is not None and before not in (None, 0):
            change = round((Decimal(now) - Decimal(before)) * 100 / abs(Decimal(before)), 1)
        kpis.append((name, now, before, change))
    return SalesSummary(
        spec=spec, first_day=first_day, last_day=last_day, label=label, kpis=kpis,
        daily=_query(wh, "sales_summary_daily", params),
        breakdowns=[_titled(title, _query(wh, "sales_summary_breakdown", params, dimension=column))
                    for column, title in BREAKDOWNS],
        top_customers=_query(wh, "sales_summary_top_customers", params),
        top_products=_query(wh, "sales_summary_top_products", params),
    )


def _titled(title: str, table: Table) -> Table:
    return Table(title, table.columns, table.rows)


def write(summary: SalesSummary, path: Path) -> Path:
    """The report file, written aside and renamed into place (never half-written)."""
    with atomic_path(path) as tmp:
        if summary.spec.format == "csv":
            tmp.write_text(_csv(summary), encoding="utf-8")
        else:
            _workbook(summary).save(tmp)
    return path


def _csv(summary: SalesSummary) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "metric", "value"])
    for name, now, before, change in summary.kpis:
        writer.writerow(["kpi", name, "this_period", now])
        writer.writerow(["kpi", name, "previous_period", before])
    for table in [summary.daily, *summary.breakdowns, summary.top_customers, summary.top_products]:
        for row in table.rows:
            for column, value in zip(table.columns[1:], row[1:]):
                writer.writerow([table.title, row[0], column, value])
    return out.getvalue()


def _workbook(summary: SalesSummary) -> Workbook:
    spec = summary.spec
    book = Workbook()
    sheet = book.active
    sheet.title = "Summary"
    bold = Font(bold=True)
    sheet.append([f"{spec.description or spec.name}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Period {summary.first_day.isoformat()} to {summary.last_day.isoformat()} ({summary.label}); "
                  "completed sales, net revenue; times in UTC"])
    sheet.append(["Filters: " + ("; ".join(f"{k} in {', '.join(v)}" for k, v in spec.filters.items()) or "none")])
    sheet.append([])
    if spec.include_summary:
        sheet.append(["KPI", "This period", "Previous period", "Change %"])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in summary.kpis:
            sheet.append(list(row))
            _format_row(sheet, sheet.max_row)
    for table in [summary.daily, *summary.breakdowns, summary.top_customers, summary.top_products]:
        _table_sheet(book, table)
    if spec.include_charts:
        _charts(book, summary)
    for ws in book.worksheets:
        ws.column_dimensions["A"].width = 28
        for letter in "BCDEFG":
            ws.column_dimensions[letter].width = 18
    return book


SHEET_TITLES = {"sales_summary_daily": "Daily trend", "sales_summary_top_customers": "Top customers",
                "sales_summary_top_products": "Top products"}


def _table_sheet(book: Workbook, table: Table) -> None:
    ws = book.create_sheet(SHEET_TITLES.get(table.title, table.title))
    ws.append(table.columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append([_excel_value(v) for v in row])
        _format_row(ws, ws.max_row)
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = ws.dimensions


def _excel_value(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # text, never a formula
    return value


def _format_row(ws, row: int) -> None:
    for cell in ws[row]:
        if isinstance(cell.value, Decimal):
            cell.number_format = "#,##0.00"
        elif isinstance(cell.value, bool):
            continue
        elif isinstance(cell.value, int):
            cell.number_format = "#,##0" if not ws.cell(1, cell.column).value or \
                not str(ws.cell(1, cell.column).value).endswith("_id") else "0"
        elif isinstance(cell.value, (date, datetime)):
            cell.number_format = "yyyy-mm-dd"


def _charts(book: Workbook, summary: SalesSummary) -> None:
    charts = book.create_sheet("Charts", 1)
    daily = book["Daily trend"]
    if daily.max_row > 1:
        line = LineChart()
        line.title = "Net revenue per day"
        line.y_axis.title = "Net revenue"
        line.add_data(Reference(daily, min_col=2, min_row=1, max_row=daily.max_row), titles_from_data=True)
        line.set_categories(Reference(daily, min_col=1, min_row=2, max_row=daily.max_row))
        line.width, line.height = 24, 9
        charts.add_chart(line, "A1")
    for anchor, title in (("A20", "By region"), ("A38", "By category")):
        ws = book[title]
        if ws.max_row > 1:
            bar = BarChart()
            bar.title = f"Net revenue {title.lower()}"
            bar.add_data(Reference(ws, min_col=2, min_row=1, max_row=ws.max_row), titles_from_data=True)
            bar.set_categories(Reference(ws, min_col=1, min_row=2, max_row=ws.max_row))
            bar.width, bar.height = 24, 9
            charts.add_chart(bar, anchor)
