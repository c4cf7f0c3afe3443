"""What every report type produces, and the one writer that turns it into a workbook or a CSV.

A report type only computes a `Report` (KPIs against the previous period, titled tables, the
charts to draw over them); the layout, the cell formats, the charts and the atomic write are
here, shared by all types."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from typing import TYPE_CHECKING

from analytics_assets.files import atomic_path

if TYPE_CHECKING:  # openpyxl is imported by the step that writes a workbook, not by the code location
    from openpyxl import Workbook


@dataclass(frozen=True)
class Table:
    title: str  # also the sheet's name (at most 31 characters)
    columns: list[str]
    rows: list[tuple]


@dataclass(frozen=True)
class Chart:
    kind: str  # line | bar
    sheet: str  # the table it is drawn from: categories in column A, series in first..last
    title: str
    first: int = 2
    last: int = 2


@dataclass(frozen=True)
class Report:
    spec: object  # ReportSpec
    first_day: date
    last_day: date
    label: str
    kpis: list[tuple[str, object, object, object]]  # name, this period, previous period, change %
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    note: str = ""  # what the numbers are (shown under the period)

    def table(self, title: str) -> Table:
        return next(t for t in self.tables if t.title == title)


def change_pct(now, before):
    """Percent change, one decimal; None when there is nothing to compare with."""
    if now is None or before in (None, 0):
        return None
    return round((Decimal(str(now)) - Decimal(str(before))) * 100 / abs(Decimal(str(before))), 1)


def compare(names, now_values, before_values) -> list[tuple[str, object, object, object]]:
    return [(n, now, before, change_pct(now, before)) for n, now, before in zip(names, now_values, before_values)]


def write(report: Report, path: Path) -> Path:
    """The report file, written aside and renamed into place (never half-written)."""
    with atomic_path(path) as tmp:
        if report.spec.format == "csv":
            tmp.write_text(_csv(report), encoding="utf-8")
        else:
            _workbook(report).save(tmp)
    return path


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "metric", "value"])
    for name, now, before, _ in report.kpis:
        writer.writerow(["kpi", name, "this_period", now])
        writer.writerow(["kpi", name, "previous_period", before])
    for table in report.tables:
        for row in table.rows:
            for column, value in zip(table.columns[1:], row[1:]):
                writer.writerow([table.title, row[0], column, value])
    return out.getvalue()


def _workbook(report: Report) -> Workbook:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from analytics_assets.exports.excel import excel_text

    spec = report.spec
    book = Workbook()
    sheet = book.active
    sheet.title = "Summary"
    bold = Font(bold=True)
    sheet.append([excel_text(spec.description or spec.name)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Period {report.first_day.isoformat()} to {report.last_day.isoformat()} ({report.label}); "
                  f"{report.note}; times in UTC"])
    sheet.append([excel_text("Filters: " + ("; ".join(f"{k} in {', '.join(v)}" for k, v in spec.filters.items())
                                            or "none"))])
    sheet.append([])
    if spec.include_summary:
        sheet.append(["KPI", "This period", "Previous period", "Change %"])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in report.kpis:
            sheet.append([excel_text(v) for v in row])
            _format_row(sheet, sheet.max_row)
    for table in report.tables:
        _table_sheet(book, table)
    if spec.include_charts:
        _charts(book, report.charts)
    for ws in book.worksheets:
        ws.column_dimensions["A"].width = 28
        for letter in "BCDEFGHI":
            ws.column_dimensions[letter].width = 18
    return book


def _table_sheet(book: Workbook, table: Table) -> None:
    from openpyxl.styles import Font

    from analytics_assets.exports.excel import excel_text

    ws = book.create_sheet(table.title)
    ws.append(table.columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append([excel_text(v) for v in row])
        _format_row(ws, ws.max_row)
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = ws.dimensions


def _format_row(ws, row: int) -> None:
    for cell in ws[row]:
        if isinstance(cell.value, Decimal):
            cell.number_format = "#,##0.00"
        elif isinstance(cell.value, bool):
            continue
        elif isinstance(cell.value, int):
            header = str(ws.cell(1, cell.column).value or "")
            cell.number_format = "0" if header.endswith("_id") else "#,##0"
        elif isinstance(cell.value, float):
            cell.number_format = "#,##0.00##"
        elif isinstance(cell.value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"


def _charts(book: Workbook, charts: list[Chart]) -> None:
    """Native charts over the tables' own cells, on a Charts sheet after the summary."""
    from openpyxl.chart import BarChart, LineChart, Reference

    sheet = book.create_sheet("Charts", 1)
    row = 1
    for chart in charts:
        ws = book[chart.sheet]
        if ws.max_row < 2:
            continue  # nothing to draw
        drawn = LineChart() if chart.kind == "line" else BarChart()
        drawn.title = chart.title
        drawn.add_data(Reference(ws, min_col=chart.first, max_col=chart.last, min_row=1, max_row=ws.max_row),
                       titles_from_data=True)
        drawn.set_categories(Reference(ws, min_col=1, min_row=2, max_row=ws.max_row))
        drawn.width, drawn.height = 24, 9
        sheet.add_chart(drawn, f"A{row}")
        row += 19
