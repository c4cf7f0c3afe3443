"""The Excel export against real chDB: each workbook is reopened with openpyxl, and once with
LibreOffice, to check what a reader of the file actually gets."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, LineChart
from openpyxl.worksheet._writer import ALL_TEMP_FILES as openpyxl_temp_files

from analytics_assets.exports import EXCEL_MAX_ROWS, ExcelExport, ExportTooLarge, TableNotFound, export_table

UTC = timezone.utc
SALES_COLUMNS = ["order_id", "order_day", "created_at", "region", "amount", "quantity", "ratio",
                 "paid", "note", "code", "attrs", "tags"]
SALES_ROWS = [
    (1, date(2024, 1, 1), datetime(2024, 1, 1, 9, 30, 0, 250000, tzinfo=UTC), "north",
     Decimal("1234.56"), 3, 0.5, True, "=1+2", "+cmd|calc", {"a": 1}, ["x", "y"]),
    (2, date(2024, 1, 1), datetime(2024, 1, 1, 18, 0, tzinfo=UTC), "south",
     Decimal("-0.01"), None, math.nan, False, "bell\x07ring", "-2", {}, []),
    (3, date(2024, 1, 2), datetime(2024, 1, 2, 0, 0, tzinfo=UTC), "north",
     Decimal("0.10"), 7, 2.25, True, None, "@SUM(A1)", {"b": 2}, ["z"]),
    (4, date(2024, 1, 3), datetime(2024, 1, 3, 23, 59, 59, tzinfo=UTC), "east",
     Decimal("0.20"), 1, -1.5, False, "#N/A", "plain", {"c": 3}, []),
]

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@pytest.fixture
def wh(clickhouse):
    with clickhouse.get_client() as warehouse:
        yield warehouse


@pytest.fixture
def sales(wh):
    wh.command("""
        CREATE TABLE sales (
            order_id UInt64, order_day Date, created_at DateTime64(6, 'UTC'),
            region LowCardinality(String), amount Decimal(18, 2), quantity Nullable(Int32),
            ratio Float64, paid Bool, note Nullable(String), code String,
            attrs Map(String, UInt16), tags Array(String)
        ) ENGINE = MergeTree ORDER BY order_id""")
    wh.insert_rows("sales", SALES_ROWS, SALES_COLUMNS)
    return "sales"


@pytest.fixture
def exported(wh, sales, tmp_path) -> tuple[ExcelExport, Path]:
    path = tmp_path / "out" / "nested" / "sales.xlsx"  # the directories do not exist yet
    result = export_table(wh, sales, path, title="Sales", description="Orders by day",
                          refreshed_at=datetime(2024, 1, 4, 6, 0, tzinfo=UTC))
    return result, path


def numbers_table(wh, name: str, rows: int) -> str:
    wh.command(f"CREATE TABLE {name} (n UInt32, label String) ENGINE = MergeTree ORDER BY n")
    wh.command(f"INSERT INTO {name} SELECT number, concat('row ', toString(number)) FROM numbers({rows})")
    return name


def raw_cell(path: Path, sheet: str, coordinate: str) -> ET.Element:
    """The cell's XML as stored, to see what openpyxl's reader would normalize away."""
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        rid = next(s.get(REL_ID) for s in book.iterfind("m:sheets/m:sheet", NS) if s.get("name") == sheet)
        target = next(r.get("Target") for r in rels if r.get("Id") == rid).lstrip("/")
        xml = ET.fromstring(z.read(target if target.startswith("xl/") else f"xl/{target}"))
    return next(c for c in xml.iterfind(".//m:c", NS) if c.get("r") == coordinate)


def summary_rows(wb) -> dict[str, list]:
    return {row[0].value: row for row in wb["Summary"].iter_rows() if row[0].value is not None}


def test_cells_keep_their_types_and_number_formats(exported):
    result, path = exported
    assert result.rows == 4 and result.charts == 2
    assert result.sheets == ("Summary", "Charts", "Data", "Chart data")
    wb = openpyxl.load_workbook(path)
    ws = wb["Data"]
    assert [c.value for c in ws[1]] == SALES_COLUMNS
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:L5"
    assert all(8 <= ws.column_dimensions[c.column_letter].width <= 60 for c in ws[1])

    first, second, third, fourth = (dict(zip(SALES_COLUMNS, row)) for row in ws.iter_rows(min_row=2))
    assert (first["order_id"].value, first["order_id"].number_format) == (1, "0")  # an id: no separator
    assert (first["amount"].value, first["amount"].number_format) == (1234.56, "#,##0.00")
    assert second["amount"].value == -0.01
    assert (first["quantity"].value, first["quantity"].number_format) == (3, "#,##0")
    assert second["quantity"].value is None  # NULL
    assert (first["ratio"].value, first["ratio"].number_format) == (0.5, "#,##0.00##")
    assert second["ratio"].value is None  # NaN: Excel cannot store it
    assert first["order_day"].value == datetime(2024, 1, 1)  # openpyxl reads dates as datetimes
    assert first["order_day"].number_format == "yyyy-mm-dd"
    assert first["created_at"].value == datetime(2024, 1, 1, 9, 30, 0, 250000)  # naive UTC
    assert first["created_at"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert fourth["created_at"].value == datetime(2024, 1, 3, 23, 59, 59)
    assert first["paid"].value is True and second["paid"].value is False
    assert first["region"].value == "north"
    assert json.loads(first["attrs"].value) == {"a": 1} and json.loads(second["attrs"].value) == {}
    assert json.loads(first["tags"].value) == ["x", "y"]

    # Formula-like text stays text (quote-prefixed); control characters are escaped, not dropped.
    for cell, text in [(first["note"], "=1+2"), (first["code"], "+cmd|calc"), (second["code"], "-2"),
                       (third["code"], "@SUM(A1)"), (fourth["note"], "#N/A")]:
        assert (cell.value, cell.data_type) == (text, "s")
        assert cell.quotePrefix
        raw = raw_cell(path, "Data", cell.coordinate)
        assert raw.get("t") == "inlineStr" and raw.find("m:f", NS) is None
    assert second["note"].value == "bell\\x07ring"
    assert third["note"].value is None
    assert fourth["code"].value == "plain" and not fourth["code"].quotePrefix
    # Decimals are stored with their own digits, not a float's expansion.
    assert raw_cell(path, "Data", first["amount"].coordinate).findtext("m:v", namespaces=NS) == "1234.56"
    assert raw_cell(path, "Data", second["amount"].coordinate).findtext("m:v", namespaces=NS) == "-0.01"


def test_summary_totals_are_exact_and_computed_by_clickhouse(exported):
    _, path = exported
    wb = openpyxl.load_workbook(path)
    rows = summary_rows(wb)
    assert wb["Summary"]["A1"].value == "Sales" and wb["Summary"]["A2"].value == "Orders by day"
    assert rows["Table"][1].value == "sales" and rows["Database"][1].value == "analytics"
    assert rows["Rows"][1].value == 4
    assert rows["Data sheets"][1].value == "Data"
    assert rows["Refreshed at (UTC)"][1].value == datetime(2024, 1, 4, 6, 0)
    assert isinstance(rows["Exported at (UTC)"][1].value, datetime)
    assert "UTC" in rows["Times"][1].value and "no time zones" in rows["Times"][1].value

    amount = rows["amount"]
    assert [c.value for c in amount[1:5]] == ["Decimal(18, 2)", 1234.85, -0.01, 1234.56]
    assert amount[2].number_format == "#,##0.00"
    # 1234.56 - 0.01 + 0.10 + 0.20 as floats is 1234.8499999999999; ClickHouse's Decimal sum is exact.
    assert raw_cell(path, "Summary", amount[2].coordinate).findtext("m:v", namespaces=NS) == "1234.85"
    assert [c.value for c in rows["quantity"][2:5]] == [11, 1, 7]
    assert [c.value for c in rows["ratio"][2:5]] == [1.25, -1.5, 2.25]  # NaN left out
    assert rows["order_id"][2].value == "id: no total"
    assert [c.value for c in rows["order_day"][2:4]] == [datetime(2024, 1, 1), datetime(2024, 1, 3)]
    assert [c.value for c in rows["created_at"][2:4]] == [datetime(2024, 1, 1, 9, 30, 0, 250000),
                                                         datetime(2024, 1, 3, 23, 59, 59)]
    notes = " ".join(str(c.value) for c in wb["Summary"]["A"] if c.value)
    assert "NaN/infinite floats left empty" in notes and "ratio (1)" in notes
    assert "stored as text, never as a formula: note (1), code (3)" in notes
    assert "\\xNN: note (1)" in notes


def test_charts_are_native_and_read_the_chart_data_sheet(exported):
    _, path = exported
    wb = openpyxl.load_workbook(path)
    data = [[c.value for c in row] for row in wb["Chart data"].iter_rows()]
    assert data[0] == ["order_day (day)", "amount", "quantity", "ratio", None, "region", "amount"]
    assert [row[:4] for row in data[1:]] == [
        [datetime(2024, 1, 1), 1234.55, 3, 0.5],  # two orders that day, summed; NaN left out
        [datetime(2024, 1, 2), 0.1, 7, 2.25],
        [datetime(2024, 1, 3), 0.2, 1, -1.5],
    ]
    assert [row[5:7] for row in data[1:]] == [["north", 1234.66], ["east", 0.2], ["south", -0.01]]
    assert raw_cell(path, "Chart data", "B2").findtext("m:v", namespaces=NS) == "1234.55"

    line, bar = wb["Charts"]._charts
    assert isinstance(line, LineChart) and isinstance(bar, BarChart)
    assert [s.val.numRef.f for s in line.series] == [
        "'Chart data'!$B$2:$B$4", "'Chart data'!$C$2:$C$4", "'Chart data'!$D$2:$D$4"]
    assert [s.tx.strRef.f for s in line.series] == [
        "'Chart data'!B1", "'Chart data'!C1", "'Chart data'!D1"]
    assert {s.cat.numRef.f for s in line.series} == {"'Chart data'!$A$2:$A$4"}
    assert [s.val.numRef.f for s in bar.series] == ["'Chart data'!$G$2:$G$4"]
    assert bar.series[0].cat.strRef.f == "'Chart data'!$F$2:$F$4"
    assert bar.type == "bar"


def test_zones_wide_integers_and_other_types(wh, tmp_path):
    wh.command("""
        CREATE TABLE misc (
            k UInt8, paris DateTime('Europe/Paris'), tokyo Nullable(DateTime64(3, 'Asia/Tokyo')),
            f32 Float32, huge UInt64, wide Int128, code FixedString(4),
            state Enum8('open' = 1, 'closed' = 2), pair Tuple(a UInt8, b String), d32 Date32
        ) ENGINE = MergeTree ORDER BY k""")
    wh.command("""INSERT INTO misc VALUES
        (1, '2024-06-01 12:00:00', '2024-06-01 09:00:00.500', 0.1, 18446744073709551615,
         -170141183460469231731687303715884105728, 'ab', 'open', (1, 'x'), '1950-05-17'),
        (2, '2024-01-01 00:30:00', NULL, inf, 7, 5, 'abcd', 'closed', (2, 'y'), '2299-12-31')""")
    result = export_table(wh, "misc", tmp_path / "misc.xlsx")
    wb = openpyxl.load_workbook(result.path)
    names = [c.value for c in wb["Data"][1]]
    first, second = (dict(zip(names, (c.value for c in row))) for row in wb["Data"].iter_rows(min_row=2))
    assert first["paris"] == datetime(2024, 6, 1, 10, 0) and second["paris"] == datetime(2023, 12, 31, 23, 30)
    assert first["tokyo"] == datetime(2024, 6, 1, 0, 0, 0, 500000) and second["tokyo"] is None
    assert first["f32"] == 0.1 and second["f32"] is None  # its decimal form; inf left empty
    # Beyond 2^53 an Excel number is no longer exact: such integers are written as text.
    assert (first["huge"], second["huge"]) == ("18446744073709551615", 7)
    assert (first["wide"], second["wide"]) == ("-170141183460469231731687303715884105728", 5)
    assert (first["code"], second["code"]) == ("ab", "abcd")  # NUL padding dropped
    assert (first["state"], second["state"]) == ("open", "closed")
    assert json.loads(first["pair"]) == {"a": 1, "b": "x"}
    assert (first["d32"], second["d32"]) == (datetime(1950, 5, 17), datetime(2299, 12, 31))
    rows = summary_rows(wb)
    assert [c.value for c in rows["f32"][2:5]] == [0.1, 0.1, 0.1]
    assert [c.value for c in rows["paris"][2:4]] == [datetime(2023, 12, 31, 23, 30), datetime(2024, 6, 1, 10)]


def test_a_table_without_a_chartable_shape_gets_no_chart_and_the_summary_says_why(wh, tmp_path):
    numbers_table(wh, "labels", 5)  # a UInt32 measure, but no date and 5 distinct labels
    wh.command("CREATE TABLE ids (event_id UInt64, payload String) ENGINE = MergeTree ORDER BY event_id")
    wh.insert_rows("ids", [(1, "a"), (2, "b")], ["event_id", "payload"])

    result = export_table(wh, "ids", tmp_path / "ids.xlsx")
    assert result.charts == 0 and result.sheets == ("Summary", "Data")
    lines = [c.value for c in openpyxl.load_workbook(result.path)["Summary"]["A"] if c.value]
    assert "No line chart: the table has no Date or DateTime column." in lines
    assert ("No bar chart: the table has no numeric measure column "
            "(id-like columns such as *_id are not measures).") in lines

    result = export_table(wh, "labels", tmp_path / "labels.xlsx")
    assert result.charts == 1  # the bar chart of n by label; still no line chart
    lines = [c.value for c in openpyxl.load_workbook(result.path)["Summary"]["A"] if c.value]
    assert "No line chart: the table has no Date or DateTime column." in lines


def test_an_empty_table_exports_its_header_only(wh, tmp_path):
    numbers_table(wh, "empty", 0)
    result = export_table(wh, "empty", tmp_path / "empty.xlsx", title="=HYPERLINK(\"http://x\")")
    assert (result.rows, result.charts, result.sheets) == (0, 0, ("Summary", "Data"))
    wb = openpyxl.load_workbook(result.path)
    title = wb["Summary"]["A1"]
    assert (title.value, title.data_type, title.font.b) == ('=HYPERLINK("http://x")', "s", True)
    assert [[c.value for c in row] for row in wb["Data"].iter_rows()] == [["n", "label"]]
    assert wb["Data"].auto_filter.ref == "A1:B1"
    assert "No charts: the table is empty." in [c.value for c in wb["Summary"]["A"]]


def test_rows_past_the_sheet_limit_continue_on_numbered_sheets(wh, tmp_path):
    numbers_table(wh, "many", 10)
    result = export_table(wh, "many", tmp_path / "many.xlsx", max_rows_per_sheet=4,
                          include_summary=True, include_charts=False)
    assert result.rows == 10
    assert result.sheets == ("Summary", "Data", "Data (2)", "Data (3)")
    wb = openpyxl.load_workbook(result.path)
    seen = []
    for name, expected_rows in [("Data", 4), ("Data (2)", 4), ("Data (3)", 2)]:
        ws = wb[name]
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        assert rows[0] == ["n", "label"] and ws["A1"].font.b
        assert len(rows) == expected_rows + 1
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:B{expected_rows + 1}"
        seen += [n for n, _ in rows[1:]]
    assert seen == list(range(10))  # every row once, in the sorting key's order
    assert summary_rows(wb)["Data sheets"][1].value == "Data, Data (2), Data (3)"


def test_too_many_rows_without_split_raise_before_anything_is_written(wh, tmp_path):
    numbers_table(wh, "many", 10)
    out = tmp_path / "never"
    with pytest.raises(ExportTooLarge, match=r"analytics\.many has 10 rows, more than max_rows_per_sheet=4"):
        export_table(wh, "many", out / "many.xlsx", split=False, max_rows_per_sheet=4)
    assert not out.exists()
    # At the limit it fits.
    assert "Data (2)" not in export_table(wh, "many", out / "many.xlsx", split=False,
                                          max_rows_per_sheet=10).sheets


def test_unknown_or_unsafe_table_names_are_refused(wh, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(TableNotFound, match="table 'missing' not found in ClickHouse database 'analytics'"):
        export_table(wh, "missing", out / "x.xlsx")
    with pytest.raises(ValueError, match="table: 'sales; DROP TABLE sales' is not a valid identifier"):
        export_table(wh, "sales; DROP TABLE sales", out / "x.xlsx")
    with pytest.raises(ValueError, match="max_rows_per_sheet"):  # with the header, one row too many
        export_table(wh, "missing", out / "x.xlsx", max_rows_per_sheet=EXCEL_MAX_ROWS)
    with pytest.raises(ValueError, match=r"must end in \.xlsx"):
        export_table(wh, "missing", out / "x.csv")
    assert list(out.iterdir()) == []


def test_a_failure_mid_export_leaves_the_previous_file_alone(wh, tmp_path):
    # The engine fails after streaming many blocks: throwIf in a column only the data read uses.
    wh.command("""
        CREATE VIEW exploding AS
        SELECT number AS n, [throwIf(number = 50000, 'boom at row 50000')] AS checks
        FROM numbers(60000) SETTINGS max_block_size = 1000""")
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "exploding.xlsx"
    path.write_bytes(b"the previous export")
    with pytest.raises(Exception, match="boom at row 50000"):
        export_table(wh, "exploding", path, include_charts=False)
    assert path.read_bytes() == b"the previous export"
    assert [p.name for p in path.parent.iterdir()] == ["exploding.xlsx"]  # no partial file left
    # openpyxl's per-sheet temp files are gone too, not left until the interpreter exits.
    assert not [f for f in openpyxl_temp_files if Path(f).exists()]


def test_libreoffice_opens_the_workbook(exported, tmp_path):
    """A second, independent reader: LibreOffice must load every sheet and show the formats."""
    _, path = exported
    soffice = shutil.which("soffice")
    assert soffice, ("LibreOffice is required for this test: apt-get install -y --no-install-recommends "
                     "libreoffice-calc (.ci/run installs it)")
    home, out = tmp_path / "lo-home", tmp_path / "lo-out"
    home.mkdir()
    # CSV filter tokens: comma, double quote, UTF-8, ..., cells as shown, all sheets (-1).
    csv_filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={(home / 'profile').as_uri()}", "--headless", "--norestore",
         "--convert-to", csv_filter, "--outdir", str(out), str(path)],
        env={**os.environ, "HOME": str(home)}, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sheets = {p.name for p in out.iterdir()}
    expected = {f"sales-{name}.csv" for name in ("Summary", "Charts", "Data", "Chart data")}
    assert sheets == expected, proc.stdout

    def read(sheet: str) -> list[list[str]]:
        with (out / f"sales-{sheet}.csv").open(encoding="utf-8", newline="") as f:
            return list(csv.reader(f))

    data = read("Data")
    assert data[0] == SALES_COLUMNS
    first = dict(zip(SALES_COLUMNS, data[1]))
    assert first["amount"] == "1,234.56" and first["order_day"] == "2024-01-01"
    assert first["created_at"] == "2024-01-01 09:30:00"
    assert first["note"] == "=1+2"  # text: a formula would show 3
    assert dict(zip(SALES_COLUMNS, data[4]))["note"] == "#N/A"
    summary = {row[0]: row for row in read("Summary") if row}
    assert summary["amount"][2] == "1,234.85"
