"""Excel export of a ClickHouse table (a datamart): typed cells, a summary sheet and native charts.

Rows stream from ClickHouse in blocks (Native format: clickhouse-connect's chDB backend holds an
ArrowStream result whole before its first batch) into openpyxl's write-only workbook, so memory
stays bounded whatever the table's size. Every aggregate shown (summary totals, chart data) is
computed by ClickHouse, so Decimal totals stay exact. The workbook is written to a temporary file next to
`path` and renamed at the end: a failed export never leaves a half-written file at `path`.

Excel's limits shape the cells: about 15 significant digits per number (integers beyond 2**53 are
written as text to stay exact), no time zones (times are written as UTC wall-clock time), no
NaN/inf (written as empty cells), no XML control characters (escaped as `\\xNN`), 32,767
characters per cell, and 1,048,576 rows per sheet including the header.
"""

from __future__ import annotations

import math
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.axis import DateAxis
from openpyxl.chart.data_source import AxDataSource, NumRef, StrRef
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname

from analytics_assets.identifiers import quote_identifier

EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_TEXT = 32_767  # characters per cell
EXACT_INT = 2**53  # larger integers are not exact as an Excel number
EPOCH = datetime(1970, 1, 1)

CATEGORY_MAX_DISTINCT = 50
TOP_CATEGORIES = 20
MAX_SERIES = 6
MAX_DAYS = 3660  # a longer span is charted per month

DATA_SHEET = "Data"
SUMMARY_SHEET = "Summary"
CHARTS_SHEET = "Charts"
CHART_DATA_SHEET = "Chart data"

FMT_DECIMAL = "#,##0.00"
FMT_INT = "#,##0"
FMT_ID = "0"
FMT_FLOAT = "#,##0.00##"
FMT_DATE = "yyyy-mm-dd"
FMT_DATETIME = "yyyy-mm-dd hh:mm:ss"

UTC_NOTE = ("All times are UTC: Excel has no time zones, so zone-aware values are written "
            "as UTC wall-clock time.")

# XML 1.0 forbids these; openpyxl raises IllegalCharacterError on the C0 ones.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@")
_JSON_TYPES = {"Array", "Map", "Tuple", "Nested", "JSON", "Object", "Variant", "Dynamic", "Point",
               "Ring", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "Geometry"}


class ExportTooLarge(ValueError):
    """The table has more rows than one sheet may hold and splitting was not allowed."""


class TableNotFound(LookupError):
    """The table to export does not exist in the warehouse database."""


@dataclass(frozen=True)
class ExcelExport:
    path: Path
    rows: int
    sheets: tuple[str, ...]
    charts: int
    seconds: float


# --- columns and their ClickHouse types ----------------------------------------------------

@dataclass(frozen=True)
class _Column:
    name: str
    type: str  # as ClickHouse reports it
    kind: str  # int, decimal, float, bool, date, datetime, text, json
    nullable: bool = False
    scale: int = 0
    float32: bool = False  # Float32/BFloat16: read by their shortest decimal form
    fixed: bool = False  # FixedString: NUL-padded
    expr: str = ""  # the SELECT expression, when not the column itself
    categorical: bool = False  # String, LowCardinality(String), Enum

    @property
    def quoted(self) -> str:
        return quote_identifier(self.name, what="column")

    def read(self) -> str:
        """The expression that reads this column in the form the cell writer expects."""
        return self.expr.format(c=self.quoted) if self.expr else self.quoted

    @property
    def id_like(self) -> bool:
        """Ids are labels, not quantities: no thousands separator, no total, never charted."""
        lower = self.name.lower()
        return lower == "id" or lower.endswith(("_id", "_key"))

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "decimal", "float")

    @property
    def measure(self) -> bool:
        return self.numeric and not self.id_like

    @property
    def temporal(self) -> bool:
        return self.kind in ("date", "datetime")

    @property
    def number_format(self) -> str | None:
        if self.kind == "int":
            return FMT_ID if self.id_like else FMT_INT
        if self.kind == "decimal":
            return "#,##0" if self.scale == 0 else ("#,##0." + "0" * max(2, min(self.scale, 10)))
        if self.kind == "float":
            return FMT_FLOAT
        if self.kind == "date":
            return FMT_DATE
        if self.kind == "datetime":
            return FMT_DATETIME
        return None

    def select(self) -> str:
        return f"{self.read()} AS {self.quoted}"


_WRAPPER = re.compile(r"^(Nullable|LowCardinality)\((.*)\)$")
_SIMPLE_AGGREGATE = re.compile(r"^SimpleAggregateFunction\([^,]+,\s*(.*)\)$")
_DECIMAL = re.compile(r"^Decimal(?:32|64|128|256)?\((?:\d+,\s*)?(\d+)\)$")


def _column(name: str, ch_type: str) -> _Column:
    """Map a ClickHouse type to how its cells are read (SELECT expression) and written."""
    base, nullable = ch_type, False
    while True:
        if m := _WRAPPER.match(base):
            nullable |= m[1] == "Nullable"
            base = m[2]
        elif m := _SIMPLE_AGGREGATE.match(base):
            base = m[1]
        else:
            break
    head = base.split("(", 1)[0]
    if re.fullmatch(r"U?Int(8|16|32|64|128|256)", base):
        return _Column(name, ch_type, "int", nullable)
    if m := _DECIMAL.match(base):
        return _Column(name, ch_type, "decimal", nullable, scale=int(m[1]))
    if base in ("Float32", "BFloat16"):  # 0.1, not 0.10000000149011612
        return _Column(name, ch_type, "float", nullable, float32=True, expr="toFloat64(toString({c}))")
    if base == "Float64":
        return _Column(name, ch_type, "float", nullable)
    if base == "Bool":
        return _Column(name, ch_type, "bool", nullable)
    if base in ("Date", "Date32"):
        return _Column(name, ch_type, "date", nullable)
    if head in ("DateTime", "DateTime64"):
        # Microseconds since the epoch: UTC whatever the column's zone and the client's decoding.
        return _Column(name, ch_type, "datetime", nullable,
                       expr="toUnixTimestamp64Micro(toDateTime64({c}, 6))")
    if base == "String":
        return _Column(name, ch_type, "text", nullable, expr="toValidUTF8({c})", categorical=True)
    if head == "FixedString":
        return _Column(name, ch_type, "text", nullable, fixed=True, expr="toValidUTF8(toString({c}))")
    if head in ("Enum", "Enum8", "Enum16"):
        return _Column(name, ch_type, "text", nullable, expr="toString({c})", categorical=True)
    if head in _JSON_TYPES:
        expr = ("if(isNull({c}), NULL, toValidUTF8(toJSONString(assumeNotNull({c}))))" if nullable
                else "toValidUTF8(toJSONString({c}))")
        return _Column(name, ch_type, "json", nullable, expr=expr)
    # UUID, IPv4/IPv6, Time, intervals and anything newer: their text form.
    return _Column(name, ch_type, "text", nullable, expr="toValidUTF8(toString({c}))")


def _table_columns(wh, table: str) -> list[_Column]:
    rows = wh.rows(
        # The columns `SELECT *` returns: ALIAS, MATERIALIZED and EPHEMERAL ones are left out.
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
        "AND default_kind NOT IN ('ALIAS', 'MATERIALIZED', 'EPHEMERAL') ORDER BY position",
        {"db": wh.database, "t": table},
    )
    if not rows:
        raise TableNotFound(f"table {table!r} not found in ClickHouse database {wh.database!r}")
    if len(rows) > EXCEL_MAX_COLUMNS:
        raise ValueError(f"table {wh.database}.{table} has {len(rows)} columns; an Excel sheet holds "
                         f"at most {EXCEL_MAX_COLUMNS}")
    for name, _ in rows:  # refuse names we cannot quote before anything is written
        quote_identifier(name, what=f"column of table {wh.database}.{table}")
    return [_column(name, ch_type) for name, ch_type in rows]


def _order_by(wh, table: str, columns: Sequence[_Column]) -> list[str]:
    """The table's sorting key when it is plain columns (read in order, cheap), for a stable
    row order from one export to the next."""
    key = wh.scalar(
        "SELECT sorting_key FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        {"db": wh.database, "t": table},
    ) or ""
    parts = [p.strip() for p in key.split(",") if p.strip()]
    names = {c.name for c in columns}
    return parts if parts and all(p in names for p in parts) else []


# --- aggregates computed by ClickHouse -------------------------------------------------------

def _sum_expr(c: _Column) -> str:
    q = c.quoted
    if c.kind == "int":
        return f"sum(toInt256({q}))"  # no wrap-around, whatever the integer width
    if c.float32:  # summed as the decimals shown, not as binary float32 values
        return f"sumIf(toFloat64(toString({q})), isFinite({q}))"
    if c.kind == "float":
        return f"sumIf({q}, isFinite({q}))"
    return f"sum({q})"  # Decimal -> Decimal(38, S): exact


def _stats(wh, source: str, columns: Sequence[_Column]) -> dict[tuple[str, str], Any]:
    """Totals, bounds, distinct counts and text widths in one scan."""
    exprs: list[tuple[tuple[str, str], str]] = []
    for c in columns:
        q = c.quoted
        if c.numeric:
            if not c.id_like:
                exprs.append(((c.name, "total"), _sum_expr(c)))
            if c.kind == "float":
                exprs += [((c.name, "min"), f"minOrNullIf({q}, isFinite({q}))"),
                          ((c.name, "max"), f"maxOrNullIf({q}, isFinite({q}))")]
            else:
                exprs += [((c.name, "min"), f"minOrNull({q})"), ((c.name, "max"), f"maxOrNull({q})")]
        elif c.temporal:  # datetimes as read for the data sheet: UTC microseconds
            exprs += [((c.name, "min"), f"minOrNull({c.read()})"),
                      ((c.name, "max"), f"maxOrNull({c.read()})")]
        elif c.kind == "text":
            exprs.append(((c.name, "width"), f"maxOrNull(lengthUTF8(toString({q})))"))
            if c.categorical and not c.id_like:
                exprs.append(((c.name, "distinct"), f"uniqUpTo({CATEGORY_MAX_DISTINCT})({q})"))
    if not exprs:
        return {}
    values = wh.rows(f"SELECT {', '.join(e for _, e in exprs)} FROM {source}")[0]
    by_name = {c.name: c for c in columns}
    stats = {}
    for (key, _), value in zip(exprs, values):
        column = by_name[key[0]]
        if column.float32 and isinstance(value, float) and key[1] != "total":
            value = float(str(np.float32(value)))  # 0.1, not 0.10000000149011612
        elif column.kind == "datetime" and value is not None:
            value = EPOCH + timedelta(microseconds=value)
        stats[key] = value
    return stats


def _naive_utc(value: datetime) -> datetime:
    """Excel has no zones: UTC wall-clock time (naive values are taken as UTC already)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


# --- charts ----------------------------------------------------------------------------------

@dataclass
class _ChartBlock:
    """One chart's aggregated rows on the Chart data sheet, and the chart drawn from them."""

    kind: str  # line or bar
    title: str
    headers: list[str]
    formats: list[str | None]
    rows: list[tuple]
    x_format: str = FMT_DATE
    first_col: int = 1


def _plan_charts(wh, source: str, columns: Sequence[_Column], stats: dict, rows: int
                 ) -> tuple[list[_ChartBlock], list[str]]:
    """Charts the data's shape supports, and why any other was left out."""
    if rows == 0:
        return [], ["No charts: the table is empty."]
    measures = [c for c in columns if c.measure]
    blocks: list[_ChartBlock] = []
    notes: list[str] = []

    when = next((c for c in columns if c.temporal and not c.id_like), None)
    if when is None:
        notes.append("No line chart: the table has no Date or DateTime column.")
    elif not measures:
        notes.append("No line chart: the table has no numeric measure column "
                     "(id-like columns such as *_id are not measures).")
    else:
        series = measures[:MAX_SERIES]
        day = when.quoted if when.kind == "date" else f"toDate32({when.quoted}, 'UTC')"
        low, high = stats.get((when.name, "min")), stats.get((when.name, "max"))
        span = (_as_date(high) - _as_date(low)).days if low is not None and high is not None else 0
        monthly = span > MAX_DAYS
        period = f"makeDate32(toYear({day}), toMonth({day}), 1)" if monthly else day
        data = wh.rows(
            f"SELECT {period}, {', '.join(_sum_expr(c) for c in series)} FROM {source} "
            f"WHERE {when.quoted} IS NOT NULL GROUP BY 1 ORDER BY 1"
        )
        if not data:
            notes.append(f"No line chart: column {when.name} is NULL in every row.")
        else:
            per = "month" if monthly else "day"
            blocks.append(_ChartBlock(
                "line", f"{', '.join(c.name for c in series)} per {per} ({when.name})",
                [f"{when.name} ({per})", *(c.name for c in series)],
                [FMT_DATE, *(c.number_format for c in series)], data,
                x_format="yyyy-mm" if monthly else FMT_DATE,
            ))
            if len(measures) > MAX_SERIES:
                notes.append(f"Line chart: the first {MAX_SERIES} of {len(measures)} measures.")

    category = next((c for c in columns if c.categorical and not c.id_like
                     and 2 <= (stats.get((c.name, "distinct")) or 0) <= CATEGORY_MAX_DISTINCT), None)
    if category is None:
        notes.append(f"No bar chart: no String/LowCardinality/Enum column with 2 to "
                     f"{CATEGORY_MAX_DISTINCT} distinct values.")
    elif not measures:
        notes.append("No bar chart: the table has no numeric measure column "
                     "(id-like columns such as *_id are not measures).")
    else:
        measure = measures[0]
        data = wh.rows(
            f"SELECT {category.read()}, {_sum_expr(measure)} FROM {source} "
            f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_CATEGORIES}"
        )
        labels = [("(null)" if label is None else label or "(empty)", value) for label, value in data]
        blocks.append(_ChartBlock(
            "bar", f"{measure.name} by {category.name} (top {TOP_CATEGORIES})",
            [category.name, measure.name], [None, measure.number_format], labels,
        ))
    return blocks, notes


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _range(col: int, first_row: int, last_row: int) -> str:
    letter = get_column_letter(col)
    return f"{quote_sheetname(CHART_DATA_SHEET)}!${letter}${first_row}:${letter}${last_row}"


def _draw(block: _ChartBlock) -> LineChart | BarChart:
    """A native chart over exactly the block's cells on the Chart data sheet."""
    last = len(block.rows) + 1
    categories = _range(block.first_col, 2, last)
    if block.kind == "line":
        chart = LineChart()
        chart.y_axis.crossAx = 500
        chart.x_axis = DateAxis(crossAx=100)
        chart.x_axis.number_format = block.x_format
        chart.x_axis.majorTimeUnit = "months" if block.x_format == "yyyy-mm" else "days"
    else:
        chart = BarChart()
        chart.type = "bar"
        chart.x_axis.scaling.orientation = "maxMin"  # the largest category on top
        chart.legend = None
    for offset in range(1, len(block.headers)):
        chart.add_data(Reference(range_string=_range(block.first_col + offset, 1, last)),
                       titles_from_data=True)
    for series in chart.series:
        if block.kind == "line":
            series.cat = AxDataSource(numRef=NumRef(f=categories))
            series.smooth = False
        else:
            series.cat = AxDataSource(strRef=StrRef(f=categories))
    chart.title = block.title
    chart.x_axis.title = block.headers[0]
    chart.x_axis.delete = False  # openpyxl 3.1 hides axes unless told otherwise
    chart.y_axis.delete = False
    chart.width, chart.height = 24, 12
    return chart


# --- cells -----------------------------------------------------------------------------------

@dataclass
class _Notes:
    """What the cell writers had to change, reported on the summary sheet."""

    non_finite: Counter = field(default_factory=Counter)
    escaped: Counter = field(default_factory=Counter)
    truncated: Counter = field(default_factory=Counter)
    formula_like: Counter = field(default_factory=Counter)
    big_ints: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        def cols(counter: Counter) -> str:
            return ", ".join(f"{name} ({n:,})" for name, n in counter.items())

        out = []
        if self.non_finite:
            out.append(f"NaN/infinite floats left empty (Excel cannot store them): {cols(self.non_finite)}.")
        if self.formula_like:
            out.append("Text starting with =, +, - or @ stored as text, never as a formula: "
                       f"{cols(self.formula_like)}.")
        if self.escaped:
            out.append(f"Control characters XML cannot hold written as \\xNN: {cols(self.escaped)}.")
        if self.truncated:
            out.append(f"Text cut at Excel's {EXCEL_MAX_TEXT:,} characters per cell: {cols(self.truncated)}.")
        if self.big_ints:
            out.append(f"Integers beyond 2^53 written as text to stay exact: {cols(self.big_ints)}.")
        return out


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _styled(ws, number_format: str | None = None, **style: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws)
    if number_format:
        cell.number_format = number_format
    for name, value in style.items():
        setattr(cell, name, value)
    return cell


def _cell_writer(ws, name: str, kind: str, number_format: str | None, notes: _Notes,
                 *, fixed: bool = False) -> Callable[[Any], Any]:
    """value -> what `ws.append` takes. One styled cell per column is reused row after row: a
    write-only sheet serializes each row as it is appended."""
    if kind == "int":
        cell = _styled(ws, number_format)

        def write_int(v: Any) -> Any:
            if v is None:
                return None
            v = int(v)
            if -EXACT_INT <= v <= EXACT_INT:
                cell.value = v
                return cell
            notes.big_ints[name] += 1
            return str(v)
        return write_int

    if kind == "float":
        cell = _styled(ws, number_format)

        def write_float(v: Any) -> Any:
            if v is None:
                return None
            if not math.isfinite(v):
                notes.non_finite[name] += 1
                return None
            cell.value = v
            return cell
        return write_float

    if kind in ("decimal", "date", "datetime"):
        cell = _styled(ws, number_format)

        def write_styled(v: Any) -> Any:
            if v is None:
                return None
            cell.value = v  # Decimal stays Decimal: openpyxl writes its digits, not a float's
            return cell
        return write_styled

    if kind == "bool":
        return lambda v: v

    quoted = _styled(ws, quotePrefix=True)

    def write_text(v: Any) -> Any:
        if v is None:
            return None
        if fixed:
            v = v.rstrip("\x00")
        if not v:
            return None
        if _ILLEGAL_XML.search(v):
            v = _ILLEGAL_XML.sub(_escape, v)
            notes.escaped[name] += 1
        if len(v) > EXCEL_MAX_TEXT:
            v = v[:EXCEL_MAX_TEXT]
            notes.truncated[name] += 1
        if _needs_quote(v):
            if v.startswith(_FORMULA_START):
                notes.formula_like[name] += 1
            return _as_text(quoted, v)
        return v
    return write_text


def excel_text(value: Any) -> Any:
    """A value for a cell of an ordinary (not write-only) workbook: text that XML cannot hold is
    escaped, cut at Excel's limit, and text that Excel would take for a formula or an error code
    is prefixed with a quote; anything else is returned as it is."""
    if not isinstance(value, str):
        return value
    value = _ILLEGAL_XML.sub(_escape, value)[:EXCEL_MAX_TEXT]
    return "'" + value if _needs_quote(value) else value


def _needs_quote(text: str) -> bool:
    return text.startswith(_FORMULA_START) or text in ERROR_CODES


def _as_text(cell: WriteOnlyCell, text: str) -> WriteOnlyCell:
    """Text, whatever it looks like: openpyxl makes "=..." a formula and "#N/A" an error, and the
    quote prefix keeps Excel from doing so when the cell is edited."""
    cell.value = text
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _value_writer(ws, value: Any, number_format: str | None, notes: _Notes, name: str) -> Callable:
    """A cell writer for one summary value, chosen by its Python type."""
    if isinstance(value, bool) or value is None:
        return _cell_writer(ws, name, "bool", None, notes)
    if isinstance(value, int):
        return _cell_writer(ws, name, "int", number_format or FMT_INT, notes)
    if isinstance(value, float):
        return _cell_writer(ws, name, "float", number_format or FMT_FLOAT, notes)
    if isinstance(value, Decimal):
        return _cell_writer(ws, name, "decimal", number_format or FMT_DECIMAL, notes)
    if isinstance(value, datetime):
        return _cell_writer(ws, name, "datetime", FMT_DATETIME, notes)
    if isinstance(value, date):
        return _cell_writer(ws, name, "date", FMT_DATE, notes)
    return _cell_writer(ws, name, "text", None, notes)


def _cell(ws, value: Any, number_format: str | None = None) -> Any:
    """One summary or chart-data cell. A fresh writer per value: these sheets are small, and each
    cell of a row must be its own object. What it changes speaks for itself (text, empty cell), so
    it is not counted in the data notes."""
    if isinstance(value, datetime):
        value = _naive_utc(value)
    return _value_writer(ws, value, number_format, _Notes(), "")(value)


def _bold(ws, text: str, size: float | None = None) -> WriteOnlyCell:
    """A label or header; the title is the caller's text, so it is cleaned like data."""
    text = _ILLEGAL_XML.sub(_escape, text)[:EXCEL_MAX_TEXT]
    cell = WriteOnlyCell(ws)
    cell.font = Font(bold=True, size=size) if size else Font(bold=True)
    if _needs_quote(text):
        return _as_text(cell, text)
    cell.value = text
    return cell


def _block_values(c: _Column, values: Sequence[Any]) -> Sequence[Any]:
    """One block column in the form the cell writer expects."""
    if c.kind == "datetime":  # naive UTC
        return [None if v is None else EPOCH + timedelta(microseconds=v) for v in values]
    return values


def _width(c: _Column, stats: dict) -> float:
    header = len(c.name) + 4  # room for the filter button
    if c.numeric:
        bounds = [stats.get((c.name, k)) for k in ("min", "max", "total")]
        bounds = [b for b in bounds if b is not None and not (isinstance(b, float) and not math.isfinite(b))]
        if c.kind == "float":
            size = 14
        elif bounds:
            size = max(len(f"{Decimal(b):,.{c.scale}f}") for b in bounds) + 2
        else:
            size = 10
    elif c.kind == "date":
        size = 12
    elif c.kind == "datetime":
        size = 20
    elif c.kind == "bool":
        size = 8
    elif c.kind == "json":
        size = 40
    else:
        size = (stats.get((c.name, "width")) or 0) + 2
    return float(min(max(header, size, 8), 60))


# --- the workbook ----------------------------------------------------------------------------

def _data_sheet_name(index: int) -> str:
    return DATA_SHEET if index == 1 else f"{DATA_SHEET} ({index})"


def _write_data(wb: Workbook, blocks: Iterable[Sequence[Sequence[Any]]], columns: Sequence[_Column],
                stats: dict, notes: _Notes, max_rows: int, refuse_more: Callable[[int], None]
                ) -> tuple[int, list[str]]:
    """Stream blocks onto as many data sheets as needed; the row count and sheet names."""
    last_letter = get_column_letter(len(columns))
    widths = [_width(c, stats) for c in columns]
    sheets: list[str] = []
    ws, writers, in_sheet, total = None, [], 0, 0

    def finish() -> None:
        ws.auto_filter.ref = f"A1:{last_letter}{in_sheet + 1}"

    def start() -> tuple[Any, list]:
        sheet = wb.create_sheet(_data_sheet_name(len(sheets) + 1))
        sheets.append(sheet.title)
        sheet.freeze_panes = "A2"
        for i, w in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(i)].width = w
        sheet.append([_bold(sheet, c.name) for c in columns])
        return sheet, [_cell_writer(sheet, c.name, c.kind, c.number_format, notes, fixed=c.fixed)
                       for c in columns]

    ws, writers = start()
    for block in blocks:
        values = [_block_values(c, block[i]) for i, c in enumerate(columns)]
        for row in zip(*values):
            if in_sheet == max_rows:
                refuse_more(total + 1)
                finish()
                ws, writers = start()
                in_sheet = 0
            ws.append([write(v) for write, v in zip(writers, row)])
            in_sheet += 1
            total += 1
    finish()
    return total, sheets


def _write_chart_data(wb: Workbook, blocks: Sequence[_ChartBlock]) -> None:
    """All chart blocks side by side, one empty column apart, header in row 1."""
    ws = wb.create_sheet(CHART_DATA_SHEET)
    col = 1
    for block in blocks:
        block.first_col = col
        for offset, header in enumerate(block.headers):
            ws.column_dimensions[get_column_letter(col + offset)].width = max(12, min(len(header) + 2, 40))
        col += len(block.headers) + 1
    header: list[Any] = []
    for block in blocks:
        header += [_bold(ws, h) for h in block.headers] + [None]
    ws.append(header)
    for i in range(max(len(b.rows) for b in blocks)):
        row: list[Any] = []
        for block in blocks:
            if i < len(block.rows):
                row += [_cell(ws, v, f)
                        for v, f in zip(block.rows[i], block.formats)]
            else:
                row += [None] * len(block.headers)
            row.append(None)
        ws.append(row)


def _write_summary(ws, *, title: str, description: str, table: str, database: str, rows: int,
                   sheets: Sequence[str], order: Sequence[str], refreshed_at: datetime | None,
                   exported_at: datetime, columns: Sequence[_Column], stats: dict,
                   chart_lines: Sequence[str], notes: _Notes) -> None:
    """What the workbook holds and where it came from, for the reader who gets only the file."""
    ws.column_dimensions["A"].width = 26
    for letter in "BCDE":
        ws.column_dimensions[letter].width = 22

    def cell(value: Any, fmt: str | None = None) -> Any:
        return _cell(ws, value, fmt)

    ws.append([_bold(ws, title, size=14)])
    if description:
        ws.append([cell(description)])
    ws.append([])
    facts = [
        ("Table", table), ("Database", database), ("Rows", rows), ("Data sheets", ", ".join(sheets)),
        ("Row order", ", ".join(order) if order else "as stored"),
        ("Refreshed at (UTC)", refreshed_at if refreshed_at is not None else "not given"),
        ("Exported at (UTC)", exported_at), ("Times", UTC_NOTE),
    ]
    for label, value in facts:
        ws.append([_bold(ws, label), cell(value)])

    numeric = [c for c in columns if c.numeric]
    if numeric:
        ws.append([])
        ws.append([_bold(ws, h) for h in ("Numeric column", "Type", "Total", "Min", "Max")])
        for c in numeric:
            total = stats.get((c.name, "total")) if not c.id_like else "id: no total"
            ws.append([cell(c.name), cell(c.type), cell(total, c.number_format),
                       cell(stats.get((c.name, "min")), c.number_format),
                       cell(stats.get((c.name, "max")), c.number_format)])
    temporal = [c for c in columns if c.temporal]
    if temporal:
        ws.append([])
        ws.append([_bold(ws, h) for h in ("Date column", "Type", "Min", "Max")])
        for c in temporal:
            ws.append([cell(c.name), cell(c.type), cell(stats.get((c.name, "min")), c.number_format),
                       cell(stats.get((c.name, "max")), c.number_format)])
    if chart_lines:
        ws.append([])
        ws.append([_bold(ws, "Charts")])
        for line in chart_lines:
            ws.append([cell(line)])
    note_lines = notes.lines()
    if note_lines:
        ws.append([])
        ws.append([_bold(ws, "Notes")])
        for line in note_lines:
            ws.append([cell(line)])


def _discard(wb: Workbook) -> None:
    """Delete a failed workbook's per-sheet temp files now: openpyxl only does so when the
    interpreter exits, and a long-lived process would keep them."""
    for ws in wb.worksheets:
        try:
            if not ws.closed:
                ws.close()
            if ws._writer is not None:
                ws._writer.cleanup()
        except Exception:  # cleanup must never hide the export's own error
            pass


def export_table(
    wh,
    table: str,
    path: Path,
    *,
    title: str | None = None,
    description: str = "",
    refreshed_at: datetime | None = None,
    include_summary: bool = True,
    include_charts: bool = True,
    split: bool = True,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS - 1,
) -> ExcelExport:
    """Write `wh.database`.`table` to the .xlsx file `path`: data sheet(s), a summary and charts.

    `refreshed_at` (naive = UTC) is shown on the summary. Past `max_rows_per_sheet` data rows the
    data continues on "Data (2)", ... with `split`, else ExportTooLarge is raised before anything
    is written.
    """
    started = time.monotonic()
    source = (f"{quote_identifier(wh.database, what='ClickHouse database')}."
              f"{quote_identifier(table, what='table')}")
    if isinstance(max_rows_per_sheet, bool) or not isinstance(max_rows_per_sheet, int) \
            or not 1 <= max_rows_per_sheet <= EXCEL_MAX_ROWS - 1:
        raise ValueError(f"max_rows_per_sheet: {max_rows_per_sheet!r} must be an integer from 1 to "
                         f"{EXCEL_MAX_ROWS - 1:,} (Excel's {EXCEL_MAX_ROWS:,} rows include the header)")
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"path: {str(path)!r} must end in .xlsx (the format written)")

    columns = _table_columns(wh, table)
    expected = int(wh.scalar(f"SELECT count() FROM {source}"))

    def too_large(rows: int) -> ExportTooLarge:
        return ExportTooLarge(
            f"table {wh.database}.{table} has {rows:,} rows, more than max_rows_per_sheet="
            f"{max_rows_per_sheet:,} data rows (Excel's limit is {EXCEL_MAX_ROWS:,} rows per sheet "
            "including the header); pass split=True to continue on more sheets"
        )

    def refuse_more(rows: int) -> None:
        if not split:
            raise too_large(rows)

    if not split and expected > max_rows_per_sheet:
        raise too_large(expected)

    stats = _stats(wh, source, columns)
    blocks, chart_notes = _plan_charts(wh, source, columns, stats, expected) if include_charts else ([], [])
    order = _order_by(wh, table, columns)
    select = (f"SELECT {', '.join(c.select() for c in columns)} FROM {source}"
              + (f" ORDER BY {', '.join(quote_identifier(p) for p in order)}" if order else "")
              + " SETTINGS output_format_json_quote_64bit_integers = 0")

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    wb = Workbook(write_only=True)
    try:
        summary = wb.create_sheet(SUMMARY_SHEET) if include_summary else None
        charts_ws = wb.create_sheet(CHARTS_SHEET) if blocks else None
        notes = _Notes()
        with wh.query_column_block_stream(select) as stream:
            rows, data_sheets = _write_data(wb, stream, columns, stats, notes, max_rows_per_sheet,
                                            refuse_more)
        if rows != expected:
            raise RuntimeError(f"table {wh.database}.{table} changed during the export ({expected:,} rows "
                               f"counted, {rows:,} read): export it again")
        if blocks:
            _write_chart_data(wb, blocks)
            for i, block in enumerate(blocks):
                charts_ws.add_chart(_draw(block), f"A{1 + 25 * i}")
        chart_lines = [f"{block.kind.capitalize()} chart: {block.title}; data on sheet "
                       f"'{CHART_DATA_SHEET}'." for block in blocks] + chart_notes
        if summary is not None:
            _write_summary(
                summary, title=title or table, description=description, table=table,
                database=wh.database, rows=rows, sheets=data_sheets, order=order,
                refreshed_at=refreshed_at, exported_at=datetime.now(timezone.utc), columns=columns,
                stats=stats, chart_lines=chart_lines, notes=notes,
            )
        wb.save(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        _discard(wb)
        raise
    return ExcelExport(path=path, rows=rows, sheets=tuple(wb.sheetnames), charts=len(blocks),
                       seconds=time.monotonic() - started)
