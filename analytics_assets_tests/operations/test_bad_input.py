"""Bad input, kind by kind (issue 9): source rows in PostgreSQL, web landing files, datamart specs,
report definitions and settings. Each case names its kind and asserts the exact behaviour: an
error naming the row / file and line / spec file and field / setting at fault, or the bad row in
the quarantine with its reason, or the row kept and flagged by a check with its id; and that no
good row of the same input was lost (counted exactly in the target table).

The inputs are tiny and shared: one PostgreSQL database and one pipeline run for every source-row
kind, one landing folder and two loads for every landing-file kind."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from analytics_assets import settings
from analytics_assets.cli import main
from analytics_assets.datamarts.spec import load_specs
from analytics_assets.demo import generator
from analytics_assets.ingest.replicate import replicate
from analytics_assets.ingest.sources import PRODUCTS, SALES
from analytics_assets.reports.spec import load_reports
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.settings import SettingError
from analytics_assets.web.load import FILES, QUARANTINE, RAW
from analytics_assets_tests.sales.conftest import run_pipeline
from analytics_assets_tests.support import load_known_sales
from analytics_assets_tests.web.conftest import load as load_web

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
KINDS: dict[str, int] = {}  # area -> kinds in the corpus (for the figures)


def corpus(area: str, cases: list) -> list:
    """`cases` as pytest params, each with its kind as id (counted for the figures)."""
    KINDS[area] = len(cases)
    return [pytest.param(*case[1:], id=case[0]) for case in cases]


def evaluations(result: dg.ExecuteInProcessResult) -> dict:
    return {f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}":
            e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad_input")


@pytest.fixture(scope="module")
def warehouse(scratch) -> ClickHouseResource:
    """One embedded ClickHouse for the module; each area keeps to its own tables."""
    return ClickHouseResource(dsn=f"chdb://{scratch / 'clickhouse'}", database="analytics")


# --- source rows in PostgreSQL -------------------------------------------------------------------
# The ingest mirrors the source, bad rows included (nothing is cleaned silently), casts each column
# to its canonical type, and flags bad rows in checks with counts and sample ids.

GOOD_SALES = [  # sale_id, customer, product, sale_date, quantity, unit_price, total, discount, status
    (1, 1, 1, "2026-06-01 10:00+00", 1, "10.00", "10.00", "0.00", "COMPLETED"),
    (2, 1, 2, "2026-06-02 11:00+00", 2, "5.50", "11.00", "1.00", "COMPLETED"),
    (3, 2, 1, "2026-06-03 12:00+00", 1, "10.00", "10.00", "0.00", "CANCELLED"),
    (4, 2, 2, "2026-06-04 13:00+00", 3, "5.50", "16.50", "0.50", "COMPLETED"),
    (5, 3, 1, "2026-06-05 14:00+00", 1, "10.00", "10.00", "2.00", "PENDING"),
    (6, 3, 2, "2026-06-06 15:00+00", 4, "5.50", "22.00", "0.00", "COMPLETED"),
]
ODD_NAME = 'Zoë "Z" O\'Neil\twith a\nnew line, a back\\slash, 😀 and محمد'
GOOD = {"customer_id": 1, "product_id": 1, "sale_date": "2026-06-07 10:00+00", "quantity": 1, "unit_price": "10.00",
        "total_amount": "10.00", "discount_amount": "0.00", "status": "COMPLETED"}

# kind, sale_id, the bad row (changes to a good one), check, metadata key naming the row (or None), expected
SOURCE_CASES = [
    ("null customer_id", 101, {"customer_id": None}, "sales_fact:source_anomalies", "orphan_customer_sample_sale_ids",
     None),
    ("unknown customer reference", 102, {"customer_id": 999}, "raw_sales:orphan_keys",
     "sample_sale_ids_orphan_customer", None),
    ("unknown product reference", 103, {"product_id": 999}, "raw_sales:orphan_keys", "sample_sale_ids_orphan_product",
     None),
    ("negative quantity", 104, {"quantity": -2}, "sales_fact:source_anomalies", "negative_quantity_sample_sale_ids",
     None),
    ("discount above the total", 105, {"discount_amount": "50.00"}, "sales_fact:source_anomalies",
     "discount_above_total_sample_sale_ids", None),
    ("null sale_date", 106, {"sale_date": None}, "sales_fact:source_anomalies", "null_sale_date_sample_sale_ids", None),
    ("sale_date in the future", 107, {"sale_date": "2099-01-01 00:00+00"}, "sales_fact:source_anomalies",
     "future_sale_date_sample_sale_ids", None),
    ("sale_date in year 1", 113, {"sale_date": "0001-06-01 00:00+00"}, "sales_fact:source_anomalies",
     "implausible_sale_date_sample_sale_ids", None),
    ("null status", 108, {"status": None}, "sales_fact:source_anomalies", "null_status_sample_sale_ids", None),
    ("null total_amount", 109, {"total_amount": None}, "sales_fact:source_anomalies", "null_amount_sample_sale_ids",
     None),
    ("null discount_amount", 110, {"discount_amount": None}, "sales_fact:source_anomalies",
     "null_amount_sample_sale_ids", None),
    # Kept and made canonical, never refused: money rounded half away from zero to cents...
    ("amount with a third decimal", 111, {"total_amount": "10.005", "unit_price": "19.995"}, None, None,
     ("SELECT total_amount, unit_price FROM raw_sales FINAL WHERE sale_id = 111",
      [(Decimal("10.01"), Decimal("20.00"))])),
    # ...a row without a version read at every run and kept with the epoch as its version.
    ("null updated_at", 112, {"updated_at": None}, None, None,
     ("SELECT toString(updated_at) FROM sales_fact WHERE sale_id = 112", [("1970-01-01 00:00:00.000000",)])),
    ("control characters and quotes in text", None, None, None, None,
     ("SELECT customer_name FROM raw_customers FINAL WHERE customer_id = 3", [(ODD_NAME,)])),
]


def _insert_sale(conn, sale_id: int, **values) -> None:
    row = {**GOOD, "sale_id": sale_id, "tax_amount": "0.00", "updated_at": "2026-06-29 00:00+00", **values}
    conn.execute(sql.SQL("INSERT INTO sales ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, row)), sql.SQL(", ").join(sql.Placeholder() * len(row))),
        list(row.values()))


@pytest.fixture(scope="module")
def source_dsn(postgres_server):
    """A database of its own on the session's server, for the module."""
    name = f"bad_input_{uuid.uuid4().hex[:10]}"
    admin = postgres_server.dsn_for("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres_server.dsn_for(name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def source_run(source_dsn, warehouse):
    """The good sales and one bad row of each kind, replicated and built into sales_fact once."""
    generator.create_schema(source_dsn)
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        # A user's schema: money of any scale, a version that may be NULL (README: "your own schema works").
        conn.execute("ALTER TABLE sales ALTER COLUMN unit_price TYPE numeric, ALTER COLUMN total_amount TYPE numeric,"
                     " ALTER COLUMN updated_at DROP NOT NULL")
        for cid, name in ((1, "Ann"), (2, "Bob"), (3, ODD_NAME)):
            conn.execute("INSERT INTO customers VALUES (%s, %s, 'x@example.com', '2024-01-01', 'SMB', 'Europe', 'DE',"
                         " NULL, '2026-06-29 00:00+00')", (cid, name))
        conn.execute("INSERT INTO products VALUES (1, 'Phone', 'Electronics', 'Phones', '2026-06-29 00:00+00'),"
                     " (2, 'Shirt', 'Apparel', 'Shirts', '2026-06-29 00:00+00')")
        for sale_id, cid, pid, day, qty, price, total, discount, status in GOOD_SALES:
            _insert_sale(conn, sale_id, customer_id=cid, product_id=pid, sale_date=day, quantity=qty,
                         unit_price=price, total_amount=total, discount_amount=discount, status=status)
        for _, sale_id, changes, *_ in SOURCE_CASES:
            if sale_id is not None:
                _insert_sale(conn, sale_id, **changes)
    result = run_pipeline(PostgresResource(dsn=source_dsn), warehouse, AS_OF, raise_on_error=False,
                          selection=["raw_customers", "raw_products", "raw_sales", "sales_fact"])
    assert result.success, "warnings must not fail the run"
    return evaluations(result)


def _good_sales_kept(warehouse) -> int:
    ids = [s[0] for s in GOOD_SALES]
    with warehouse.get_client() as wh:
        kept = wh.rows("SELECT sale_id, net_amount FROM sales_fact WHERE sale_id IN {ids:Array(Int64)} ORDER BY sale_id",
                       {"ids": ids})
    assert kept == [(s[0], Decimal(s[6]) - Decimal(s[7])) for s in GOOD_SALES]
    return len(kept)


@pytest.mark.parametrize("sale_id, changes, check, sample_key, expected", corpus("source rows", SOURCE_CASES))
def test_a_bad_source_row_is_kept_and_named_and_no_good_row_is_lost(source_run, warehouse, sale_id, changes, check,
                                                                     sample_key, expected):
    if check is not None:
        evaluation = source_run[check]
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert sale_id in evaluation.metadata[sample_key].value, (check, sample_key)
    if expected is not None:
        query, rows = expected
        with warehouse.get_client() as wh:
            assert wh.rows(query) == rows
    if sale_id is not None:  # mirrored, not dropped: a person decides what the row means
        with warehouse.get_client() as wh:
            assert wh.scalar("SELECT count() FROM sales_fact WHERE sale_id = {s:Int64}", {"s": sale_id}) == 1
    assert _good_sales_kept(warehouse) == len(GOOD_SALES)


def test_source_figures(source_run, warehouse, figures):
    bad = [c[1] for c in SOURCE_CASES if c[1] is not None]
    with warehouse.get_client() as wh:
        mirrored = wh.scalar("SELECT count() FROM sales_fact WHERE sale_id IN {ids:Array(Int64)}", {"ids": bad})
    assert mirrored == len(bad)
    figures.record("bad input", "source rows: good sales kept / sent", f"{_good_sales_kept(warehouse)} / {len(GOOD_SALES)}")
    figures.record("bad input", "source rows: bad rows mirrored and flagged / sent", f"{mirrored} / {len(bad)}")


def _other_schema(source_dsn: str, schema: str, statements: str) -> PostgresResource:
    """The source schema again under another PostgreSQL schema, changed by `statements`."""
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        generator.create_schema(conn)
        conn.execute(statements)
    return PostgresResource(dsn=source_dsn, source_schema=schema)


def test_a_source_table_missing_a_column_is_an_error_naming_table_and_column(source_dsn, warehouse, figures):
    pg = _other_schema(source_dsn, "no_discount", "ALTER TABLE sales DROP COLUMN discount_amount")
    with ClickHouseResource(dsn=warehouse.dsn, database="no_discount").get_client() as wh:
        with pytest.raises(ValueError) as caught:
            replicate(wh, pg, SALES)
    assert str(caught.value) == "source table no_discount.sales is missing required column(s): discount_amount"
    KINDS["source schema"] = KINDS.get("source schema", 0) + 1


def test_duplicate_source_keys_fail_the_blocking_check_naming_the_keys(source_dsn, warehouse):
    from analytics_assets.ingest.checks import source_keys_unique

    pg = _other_schema(source_dsn, "dups", "ALTER TABLE products DROP CONSTRAINT products_pkey;"
                                           " INSERT INTO products VALUES (7, 'a', 'c', 's', now()), (7, 'b', 'c', 's', now()),"
                                           " (8, 'c', 'c', 's', now())")
    result = source_keys_unique(pg, PRODUCTS)
    assert not result.passed and result.metadata["duplicated_keys_sample"].value == [{"key": 7, "rows": 2}]
    KINDS["source schema"] = KINDS.get("source schema", 0) + 1


def test_an_infinite_sale_date_arrives_as_null_and_the_good_rows_load(source_dsn, warehouse):
    KINDS["source schema"] = KINDS.get("source schema", 0) + 1
    pg = _other_schema(source_dsn, "infinite", "INSERT INTO sales VALUES (1, 1, 1, '2026-06-01', 1, 1, 1, 0, 0,"
                                               " 'COMPLETED', now()), (2, 1, 1, 'infinity', 1, 1, 1, 0, 0, 'COMPLETED', now())")
    with ClickHouseResource(dsn=warehouse.dsn, database="infinite").get_client() as wh:
        replicate(wh, pg, SALES, mode="client")  # 'infinity' has no ClickHouse value: it arrives as NULL
        assert wh.rows("SELECT sale_id, sale_date FROM raw_sales FINAL ORDER BY sale_id") == [
            (1, datetime(2026, 6, 1)), (2, None)]


# --- web landing files ---------------------------------------------------------------------------
# Bad rows go to the quarantine with file, line and reason and the file's good rows load; an
# unreadable file or one with too many bad rows is rejected whole (nothing half-loads; its good rows
# wait in the file, which stays); a file changed after loading is refused.

def _point(i: int) -> str:
    return json.dumps({"timestamp": f"2026-03-02 10:{i:02d}:00", "metric_name": "pageviews", "metric_value": i,
                       "dimensions": {"device": "mobile"}, "tags": ["web"]})


def ndjson(bad: str | bytes | None, *, good: int = 3, at: int = 3) -> bytes:
    """`good` good lines with the bad one as line `at`."""
    lines = [_point(i).encode() for i in range(1, good + 1)]
    if bad is not None:
        lines.insert(at - 1, bad if isinstance(bad, bytes) else bad.encode())
    return b"".join(line + b"\n" for line in lines)


CSV_HEADER = "timestamp,metric_name,metric_value,dimensions,tags"


def csv(bad: str | None, *, good: int = 3) -> bytes:
    lines = [CSV_HEADER] + [f'2026-03-02 11:{i:02d}:00,pageviews,{i},"{{""device"":""web""}}","[""a""]"'
                            for i in range(1, good + 1)]
    if bad is not None:
        lines.insert(3, bad)  # line 4
    return "".join(line + "\n" for line in lines).encode()


def _field(name: str, value) -> str:
    row = {"timestamp": "2026-03-02 10:59:00", "metric_name": "pageviews", "metric_value": 1}
    if value is None:
        row.pop(name)
    else:
        row[name] = value
    return json.dumps(row)


# kind, file name, content, expected: ("quarantined", line, reason) | ("rejected", detail) | ("loaded",) | ("ignored",)
# and the good rows the file holds.
LANDING_CASES = [
    ("not JSON", "not-json.ndjson", ndjson("this is not json"), ("quarantined", 3, "not valid JSON"), 3),
    ("JSON but not an object", "array.ndjson", ndjson("[1, 2, 3]"), ("quarantined", 3, "not a JSON object"), 3),
    ("timestamp missing", "no-ts.ndjson", ndjson(_field("timestamp", None)), ("quarantined", 3, "timestamp is missing"), 3),
    ("metric_name missing", "no-name.ndjson", ndjson(_field("metric_name", None)),
     ("quarantined", 3, "metric_name is missing"), 3),
    ("metric_value missing", "no-value.ndjson", ndjson(_field("metric_value", None)),
     ("quarantined", 3, "metric_value is missing"), 3),
    ("value not a number", "abc.ndjson", ndjson(_field("metric_value", "abc")),
     ("quarantined", 3, 'metric_value "abc" is not a number'), 3),
    ("value a boolean", "bool.ndjson", ndjson(_field("metric_value", True)),
     ("quarantined", 3, 'metric_value "true" is not a number'), 3),
    ("value NaN", "nan.ndjson", ndjson(_field("metric_value", "NaN")), ("quarantined", 3, "metric_value NaN is not finite"), 3),
    ("value infinite", "inf.ndjson", ndjson(_field("metric_value", "-inf")),
     ("quarantined", 3, "metric_value -inf is not finite"), 3),
    ("value overflowing a double", "overflow.ndjson", ndjson(_field("metric_value", 1).replace(": 1}", ": 1e400}")),
     ("quarantined", 3, "not valid JSON"), 3),
    ("timestamp ISO with T and Z", "iso.ndjson", ndjson(_field("timestamp", "2026-03-02T10:00:00Z")),
     ("quarantined", 3, 'timestamp "2026-03-02T10:00:00Z" is not a UTC time YYYY-MM-DD HH:MM:SS'), 3),
    ("timestamp impossible date", "feb30.ndjson", ndjson(_field("timestamp", "2026-02-30 10:00:00")),
     ("quarantined", 3, 'timestamp "2026-02-30 10:00:00" is not a UTC time'), 3),
    ("timestamp epoch number", "epoch.ndjson", ndjson(_field("timestamp", 1772445600)),
     ("quarantined", 3, 'timestamp "1772445600" is not a UTC time'), 3),
    ("timestamp before 1970", "1969.ndjson", ndjson(_field("timestamp", "1969-12-31 23:59:59")),
     ("quarantined", 3, "(1970 or later)"), 3),
    ("timestamp in the future", "future.ndjson", ndjson(_field("timestamp", "2100-01-01 00:00:00")),
     ("quarantined", 3, "timestamp 2100-01-01 00:00:00 is in the future (later than "), 3),
    ("dimensions not an object", "dims.ndjson", ndjson(_field("dimensions", "mobile")),
     ("quarantined", 3, "dimensions is not an object of strings"), 3),
    ("tags not an array", "tags.ndjson", ndjson(_field("tags", "web")), ("quarantined", 3, "tags is not an array of strings"), 3),
    ("metric_name a JSON object", "name-obj.ndjson", ndjson(_field("metric_name", {"a": 1})),
     ("quarantined", 3, 'metric_name "{"a":1}" is not a name'), 3),
    ("metric_name with a control character", "name-ctl.ndjson", ndjson(_field("metric_name", "page\u0001views")),
     ("quarantined", 3, "is not a name (control characters"), 3),
    ("metric_name over 200 characters", "name-long.ndjson", ndjson(_field("metric_name", "p" * 201)),
     ("quarantined", 3, "is not a name (control characters, JSON, or over 200 characters)"), 3),
    ("line cut short", "cut.ndjson", ndjson(None) + _point(9)[:30].encode(), ("quarantined", 4, "not valid JSON"), 3),
    ("bytes that are not UTF-8", "latin1.ndjson", ndjson(_field("metric_name", "pageviews").encode().replace(
        b"pageviews", b"p\xe4ge\xff")), ("quarantined", 3, "not valid JSON"), 3),
    ("CSV wrong field count", "fields.csv", csv("2026-03-02 11:00:00,pageviews"), ("quarantined", 4, "expected 5 fields, found 2"), 3),
    ("CSV value not a number", "value.csv", csv("2026-03-02 11:00:00,pageviews,oops,,"),
     ("quarantined", 4, 'metric_value "oops" is not a number'), 3),
    ("CSV dimensions not an object", "dims.csv", csv('2026-03-02 11:00:00,pageviews,1,"[1]",'),
     ("quarantined", 4, "dimensions is not a JSON object of strings"), 3),
    ("CSV unbalanced quote", "quote.csv", csv('2026-03-02 11:00:00,"pageviews,1,,'), ("quarantined", 4, "a quoted field is not closed"), 3),
    ("too many bad rows", "mostly-bad.ndjson", ndjson(b"garbage\nmore garbage", good=1, at=1),
     ("rejected", "2 of 3 rows bad (66.7% > 30%), e.g. line "), 1),
    ("gzip cut short", "cut.ndjson.gz", gzip.compress(ndjson(None, good=400))[:-40],
     ("rejected", "cut.ndjson.gz: cannot be read as gzip"), 400),
    ("not gzip behind a .gz name", "plain.ndjson.gz", ndjson(None, good=2),
     ("rejected", "plain.ndjson.gz: cannot be read as gzip"), 2),
    ("CSV header missing a column", "header.csv", b"timestamp,metric,metric_value,dimensions,tags\n2026-03-02 11:00:00,x,1,,\n",
     ("rejected", "header.csv: the CSV header (line 1) lacks metric_name"), 1),
    ("empty CSV", "empty.csv", b"", ("rejected", "empty.csv: the CSV header (line 1) lacks timestamp, metric_name, "
                                                 "metric_value; found nothing"), 0),
    ("NDJSON of blank lines only", "blank.ndjson", b"\n\r\n\n", ("loaded",), 0),
    ("CSV without the optional columns", "three-columns.csv",
     b"timestamp,metric_name,metric_value\n2026-03-02 12:00:00,pageviews,1\n2026-03-02 12:01:00,pageviews,2\n", ("loaded",), 2),
    ("UTF-8 byte order mark", "bom.ndjson", b"\xef\xbb\xbf" + ndjson(None), ("loaded",), 3),
    ("file still being written", "partial.ndjson.tmp", ndjson("not json"), ("ignored",), 3),
    ("SQL in the file name", "x'; DROP TABLE website_metrics; --.ndjson", ndjson("oops"),
     ("quarantined", 3, "not valid JSON"), 3),
]
# Kinds that take a second load: the same file changed in place, and a copy under another name.
CHANGED, COPY = "changed.ndjson", "copy-of-not-json.ndjson"
LATER_CASES = [
    ("file changed after it was loaded", CHANGED, ("refused", f"{CHANGED} changed after it was loaded")),
    ("same content under another name", COPY, ("skipped", "same content as not-json.ndjson")),
]


@pytest.fixture(scope="module")
def landing_runs(scratch, warehouse):
    """Every landing file loaded by one run of website_metrics; then a second run after a loaded
    file was appended to and another copied under a new name."""
    folder = scratch / "data" / "landing" / "web"
    folder.mkdir(parents=True)
    for _, name, content, *_ in LANDING_CASES:
        (folder / name).write_bytes(content)
    (folder / CHANGED).write_bytes(ndjson(None))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ANALYTICS_DATA_DIR", str(scratch / "data"))
        env.setenv("ANALYTICS_WEB_TTL_DAYS", "0")
        env.setenv("ANALYTICS_WEB_MAX_BAD_ROWS_PCT", "30")
        first = load_web(warehouse, raise_on_error=False)
        with (folder / CHANGED).open("ab") as f:
            f.write(_point(30).encode() + b"\n")
        (folder / COPY).write_bytes((folder / "not-json.ndjson").read_bytes())
        second = load_web(warehouse, raise_on_error=False)
    assert first.success and second.success, "bad files never fail the load"
    return folder, first, second


def _registered(warehouse, name: str):
    with warehouse.get_client() as wh:
        return wh.rows(f"SELECT status, detail, source_file_id FROM {FILES} FINAL WHERE file_name = {{n:String}}",
                       {"n": name})


def _published(warehouse, name: str) -> int:
    with warehouse.get_client() as wh:
        return int(wh.scalar(f"SELECT count() FROM {RAW} WHERE source_file_id IN (SELECT source_file_id FROM {FILES}"
                             f" FINAL WHERE file_name = {{n:String}})", {"n": name}))


@pytest.mark.parametrize("name, content, expected, good", corpus("landing files", LANDING_CASES))
def test_a_bad_landing_file_or_row_is_quarantined_or_rejected_with_its_reason(landing_runs, warehouse, name, content,
                                                                              expected, good):
    folder, *_ = landing_runs
    outcome = expected[0]
    if outcome == "ignored":
        assert _registered(warehouse, name) == [] and (folder / name).exists()
        return
    ((status, detail, file_id),) = _registered(warehouse, name)
    with warehouse.get_client() as wh:
        quarantined = wh.rows(f"SELECT line_no, reason, line FROM {QUARANTINE} WHERE file_name = {{n:String}}"
                              " ORDER BY line_no", {"n": name})
    if outcome == "quarantined":
        (line_no, reason, line), = quarantined
        bad_line = content.splitlines()[expected[1] - 1]
        assert status == "loaded" and line_no == expected[1]
        # The line itself, byte for byte (clickhouse-connect hands non-UTF-8 strings over as hex).
        assert (bytes.fromhex(line) if b"\xff" in bad_line else line.encode()) == bad_line
        assert expected[2] in reason and expected[2] in detail and f"line {line_no}: " in detail
        assert _published(warehouse, name) == good  # every good row of the file, exactly
    elif outcome == "rejected":
        assert status == "rejected" and expected[1] in detail, detail
        assert _published(warehouse, name) == 0  # nothing half-loads...
        assert (folder / name).read_bytes() == content  # ...the good rows wait in the file, which stays
    else:
        assert (status, detail, quarantined) == ("loaded", "", []) and _published(warehouse, name) == good


@pytest.mark.parametrize("name, expected", corpus("landing files (second load)", LATER_CASES))
def test_a_changed_or_copied_landing_file_is_refused_or_skipped_and_nothing_doubles(landing_runs, warehouse, name,
                                                                                    expected):
    _, _, second = landing_runs
    checks = evaluations(second)
    table = second.asset_materializations_for_node("website_metrics")[0].metadata["files"].value
    row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
    assert f"| {expected[0]} |" in row and expected[1] in row, row
    if expected[0] == "refused":
        assert not checks["website_metrics:landing_files_accepted"].passed
        assert expected[1] in checks["website_metrics:landing_files_accepted"].metadata["files"].value
        assert _published(warehouse, CHANGED) == 3  # the first content, once; the appended line is not taken
    else:
        assert _published(warehouse, "not-json.ndjson") == 3 and _registered(warehouse, COPY) == []


def test_landing_figures(landing_runs, warehouse, figures):
    _, first, second = landing_runs
    accepted = [c for c in LANDING_CASES if c[3][0] in ("quarantined", "loaded")]
    sent = sum(c[4] for c in accepted) + 3  # and the changed file's first content
    with warehouse.get_client() as wh:
        kept = wh.row_count(RAW)
        quarantined = wh.row_count(QUARANTINE)
    assert kept == sent
    assert all(evaluations(first)[k].passed for k in ("website_metrics:timestamps_not_in_future",
                                                      "website_metrics:values_finite",
                                                      "website_metrics:files_loaded_once",
                                                      "website_metrics_hourly:matches_raw"))
    figures.record("bad input", "landing files: good rows kept / sent (accepted files)", f"{kept} / {sent}")
    figures.record("bad input", "landing files: rows quarantined with file, line and reason", quarantined)
    figures.record("bad input", "landing files: files rejected whole (good rows wait in the file)",
                   sum(1 for c in LANDING_CASES if c[3][0] == "rejected"))


# --- datamart specs -------------------------------------------------------------------------------
# `analytics-assets datamart validate` prints the file and every problem by field (ClickHouse's
# verdict included) and exits 1; a folder with bad specs still yields its good ones.

DATAMART_CASES = [  # kind, file content (the file is <name>.yaml), field, message
    ("not YAML", "name: [unclosed\n", "file", "not readable YAML"),
    ("not a mapping", "- name: x\n", "file", "expected a mapping of fields"),
    ("not UTF-8", b"name: caf\xe9_dm\nquery: SELECT 1 AS x\n", "file", "not readable YAML"),
    ("name missing", "query: SELECT 1 AS x\n", "name", "is required"),
    ("name not an identifier", "name: my-dm\nquery: SELECT 1 AS x\n", "name", "is not a valid identifier"),
    ("name differs from the file", "name: other_dm\nquery: SELECT 1 AS x\n", "name", "differs from the file name"),
    ("unknown field", "name: {n}\nquery: SELECT 1 AS x\nrefresh_every: 5m\n", "refresh_every", "unknown field"),
    ("invalid cron", "name: {n}\nrefresh_strategy: scheduled\nrefresh_schedule: '0 25 * * *'\nquery: SELECT 1 AS x\n",
     "refresh_schedule", "is not a five-field cron expression"),
    ("scheduled without a schedule", "name: {n}\nrefresh_strategy: scheduled\nquery: SELECT 1 AS x\n",
     "refresh_schedule", "is required when refresh_strategy is scheduled"),
    ("unknown type", "name: {n}\ntype: cube\nquery: SELECT 1 AS x\n", "type", "'cube' is not one of"),
    ("two statements", "name: {n}\nquery: SELECT 1 AS x; SELECT 2 AS y\n", "query", "must be exactly one statement"),
    ("not a SELECT", "name: {n}\nquery: TRUNCATE TABLE orders\n", "query", "must be a SELECT"),
    ("system table", "name: {n}\nquery: SELECT name FROM system.tables\n", "query", "system tables are not allowed"),
    ("unknown column (ClickHouse)", "name: {n}\nquery: SELECT no_such_column FROM orders\n", "query",
     "ClickHouse rejected it"),
    ("unknown table (ClickHouse)", "name: {n}\nquery: SELECT 1 AS x FROM no_such_table\n", "query",
     "ClickHouse rejected it"),
    ("result column not a plain name", "name: {n}\nquery: SELECT sum(amount) FROM orders\n", "query",
     "result column 'sum(amount)' is not a plain identifier"),
    ("index column not in the query", "name: {n}\nindexes: [day]\nquery: SELECT region FROM orders\n", "indexes",
     "'day' is not a column of the query"),
    ("negative min_rows", "name: {n}\nchecks: {{min_rows: -1}}\nquery: SELECT 1 AS x\n", "checks.min_rows",
     "must be a non-negative integer"),
    ("partition_by an expression", "name: {n}\npartition_by: sipHash64(day) % 4\nquery: SELECT day FROM orders\n",
     "partition_by", "must be a column, or toYYYYMM(column)"),
    ("name of one of our tables", "name: sales_fact\nquery: SELECT 1 AS x\n", "name", "'sales_fact' is already a table of ours"),
]


@pytest.fixture(scope="module")
def orders(warehouse):
    with warehouse.get_client() as wh:
        wh.command("CREATE TABLE orders (day Date32, region String, amount Decimal(18, 2)) ENGINE = MergeTree ORDER BY day")
        wh.command("INSERT INTO orders VALUES ('2026-03-01', 'EU', 10.50)")
    return warehouse


@pytest.mark.parametrize("content, field, message", corpus("datamart specs", DATAMART_CASES))
def test_a_bad_datamart_spec_names_its_file_and_field(orders, tmp_path, monkeypatch, capsys, request, content, field,
                                                      message):
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", orders.dsn)
    name = "sales_fact" if "sales_fact" in str(content) else "bad_dm"
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.format(n=name).encode())
    assert main(["datamart", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: invalid\n") and f"\n  {field}: " in err and message in err, err


def test_a_folder_of_bad_datamart_specs_keeps_the_good_one(tmp_path, figures):
    for i, (_, content, _, _) in enumerate(DATAMART_CASES):
        if "{n}" in str(content):
            (tmp_path / f"bad_{i}_dm.yaml").write_text(content.format(n=f"bad_{i}_dm"))
    (tmp_path / "good_dm.yaml").write_text("name: good_dm\nquery: SELECT 1 AS x\n")
    specs, errors = load_specs([tmp_path])
    assert "good_dm" in [s.name for s in specs] and errors
    assert all(str(e).startswith(str(tmp_path)) for e in errors)
    figures.record("bad input", "datamart specs: good specs kept / sent (folder with bad ones)", "1 / 1")


# --- report definitions ---------------------------------------------------------------------------

REPORT_CASES = [  # kind, the definition's YAML (besides its name), field, message
    ("unknown filter", "filters: {{city: [Paris]}}\n", "filters.city", "unknown filter"),
    ("filter values empty", "filters: {{region: []}}\n", "filters.region", "must be a non-empty list of values"),
    ("filter value over 200 characters", "filters: {{region: [" + "x" * 201 + "]}}\n", "filters.region",
     "strings up to 200 characters"),
    ("filters not a mapping", "filters: [region]\n", "filters", "must be a mapping"),
    ("recipient not an address", "recipients: [management]\n", "recipients", "not e-mail addresses: ['management']"),
    ("e-mail delivery without recipients", "recipients: []\n", "recipients", "at least one address is needed"),
    ("unknown date range", "date_range: last_century\n", "date_range", "'last_century' is not one of"),
    ("start after end", "date_range: {{start_date: 2026-02-01, end_date: 2026-01-01}}\n", "date_range",
     "start_date 2026-02-01 is after end_date 2026-01-01"),
    ("impossible date", "date_range: {{start_date: '2026-02-30', end_date: '2026-03-01'}}\n", "date_range",
     "must be YYYY-MM-DD"),
    ("unknown format", "format: pdf\n", "format", "'pdf' is not one of excel, csv"),
    ("six-field cron", "schedule: '0 8 1 * * *'\n", "schedule", "is not a five-field cron expression"),
    ("include_charts not a flag", "include_charts: sometimes\n", "include_charts", "must be true or false"),
    ("unknown field", "cc: [boss@company.com]\n", "cc", "unknown field"),
]


@pytest.mark.parametrize("extra, field, message", corpus("report definitions", REPORT_CASES))
def test_a_bad_report_definition_names_its_file_and_field(tmp_path, monkeypatch, capsys, extra, field, message):
    monkeypatch.setenv("ANALYTICS_REPORTS_DIR", str(tmp_path))
    path = tmp_path / "bad_report.yaml"
    base = {"recipients": "recipients: [boss@company.com]\n"}
    text = "name: bad_report\n" + extra.format() + ("" if "recipients" in extra else base["recipients"])
    path.write_text(text)
    specs, errors = load_reports([tmp_path])
    assert specs == [] and len(errors) == 1
    assert str(errors[0]).startswith(f"{path}: "), str(errors[0])
    assert any(f == field and message in m for f, m in errors[0].problems), errors[0].problems
    # The command line says the same.
    assert main(["report", "run", "bad_report", "--period", "2026-10"]) == 1
    assert f"no valid report named 'bad_report': {path}: " in capsys.readouterr().err


def test_a_filter_value_matching_no_sale_names_it_and_writes_no_file(scratch, warehouse, tmp_path, monkeypatch, figures):
    from analytics_assets.reports.assets import build_report_file, report_path
    from analytics_assets.reports.spec import parse_report

    KINDS["report definitions (run time)"] = 1
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    spec = parse_report({"name": "typo_report", "delivery_method": "none",
                         "filters": {"region": ["Europe", "Eurpoe"]}}, source="typo_report.yaml")
    with ClickHouseResource(dsn=warehouse.dsn, database="reports").get_client() as wh:
        load_known_sales(wh)
        with pytest.raises(ValueError) as caught:
            build_report_file(wh, spec, "2026-10-01")
    assert str(caught.value) == "typo_report.yaml: filters.region: 'Eurpoe' matches no sale"
    assert not report_path(spec, "2026-10").exists()
    figures.record("bad input", "report definitions: good reports kept / sent (folder with bad ones)",
                   f"{_good_report_kept(tmp_path)} / 1")


def _good_report_kept(folder: Path) -> int:
    folder = folder / "definitions"
    folder.mkdir()
    for i, (_, extra, _, _) in enumerate(REPORT_CASES):
        (folder / f"bad_{i}.yaml").write_text(f"name: bad_{i}\nrecipients: [a@company.com]\n" + extra.format())
    (folder / "good.yaml").write_text("name: good\nrecipients: [a@company.com]\n")
    specs, errors = load_reports([folder])
    assert len(errors) == len(REPORT_CASES)
    return len([s for s in specs if s.name == "good"])


# --- settings ---------------------------------------------------------------------------------------

def _as_of():
    from analytics_assets.logical_time import resolve_as_of

    return resolve_as_of()


def _transfer_mode():
    from analytics_assets.ingest.replicate import resolve_mode

    return resolve_mode(None)


def _clickhouse():
    with ClickHouseResource().get_client():
        pass


def _postgres():
    resource = PostgresResource(connect_timeout_seconds=2)
    with resource.connect():
        pass


def _smtp_send():
    from analytics_assets.resources.smtp import SmtpResource

    message = EmailMessage()
    message["To"] = "a@company.com"
    SmtpResource.from_env().send(message)


def _bi_user():
    from analytics_assets.bi.assets import readonly_access_sql

    return readonly_access_sql("analytics")


SETTING_CASES = [  # kind, environment, what reads it, the message
    ("percentage not a number", {"ANALYTICS_WEB_MAX_BAD_ROWS_PCT": "ten"}, settings.WEB.max_bad_rows_pct,
     "ANALYTICS_WEB_MAX_BAD_ROWS_PCT: 'ten' is not a number"),
    ("negative retention", {"ANALYTICS_WEB_TTL_DAYS": "-1"}, settings.WEB.ttl_days,
     "ANALYTICS_WEB_TTL_DAYS: '-1' must be a finite number >= 0"),
    ("fractional days", {"ANALYTICS_WEB_TTL_DAYS": "1.5"}, settings.WEB.ttl_days,
     "ANALYTICS_WEB_TTL_DAYS: '1.5' is not an integer"),
    ("threshold NaN", {"ANALYTICS_WEB_ANOMALY_Z": "nan"}, settings.web_anomaly_z,
     "ANALYTICS_WEB_ANOMALY_Z: 'nan' must be a finite number >= 0.5"),
    ("threshold infinite", {"ANALYTICS_WEB_ANOMALY_Z": "inf"}, settings.web_anomaly_z,
     "ANALYTICS_WEB_ANOMALY_Z: 'inf' must be a finite number >= 0.5"),
    ("negative tolerance", {"ANALYTICS_WEB_FUTURE_TOLERANCE_MINUTES": "-5"}, settings.WEB.future_tolerance_minutes,
     "ANALYTICS_WEB_FUTURE_TOLERANCE_MINUTES: '-5' must be a finite number >= 0"),
    ("start date not a date", {"ANALYTICS_WEB_START_DATE": "2024-13-01"}, settings.WEB.start_date,
     "ANALYTICS_WEB_START_DATE: '2024-13-01' is not an ISO date (YYYY-MM-DD)"),
    ("as-of not a time", {"ANALYTICS_AS_OF": "yesterday"}, _as_of,
     "ANALYTICS_AS_OF: 'yesterday' is not an ISO-8601 date or datetime"),
    ("as-of with an unknown time zone", {"ANALYTICS_AS_OF": "2026-01-01T00:00:00 Europe/Narnia"}, _as_of,
     "ANALYTICS_AS_OF: '2026-01-01T00:00:00 Europe/Narnia' is not an ISO-8601"),
    ("as-of offset out of range", {"ANALYTICS_AS_OF": "2026-01-01T00:00:00+25:00"}, _as_of,
     "ANALYTICS_AS_OF: '2026-01-01T00:00:00+25:00' is not an ISO-8601"),
    ("unknown transfer mode", {"ANALYTICS_TRANSFER_MODE": "ftp"}, _transfer_mode,
     "transfer_mode (or ANALYTICS_TRANSFER_MODE): 'ftp' is not one of server, client"),
    ("in-memory chDB", {"ANALYTICS_CLICKHOUSE_DSN": "chdb://memory"}, _clickhouse,
     "ANALYTICS_CLICKHOUSE_DSN: 'chdb://memory' must be chdb:///absolute/path"),
    ("ClickHouse DSN with a bad port", {"ANALYTICS_CLICKHOUSE_DSN": "http://ch.example.com:port/"}, _clickhouse,
     "ANALYTICS_CLICKHOUSE_DSN: cannot connect to ClickHouse at http://ch.example.com:port/"),
    ("ClickHouse unreachable", {"ANALYTICS_CLICKHOUSE_DSN": "http://u:pw@127.0.0.1:1"}, _clickhouse,
     "ANALYTICS_CLICKHOUSE_DSN: cannot connect to ClickHouse at http://u:***@127.0.0.1:1"),
    ("database not an identifier", {"ANALYTICS_CLICKHOUSE_DATABASE": "analytics-prod"}, _clickhouse,
     "ANALYTICS_CLICKHOUSE_DATABASE: 'analytics-prod' is not a valid identifier"),
    ("PostgreSQL DSN malformed", {"ANALYTICS_POSTGRES_DSN": "postgresql://u:pw@h:notaport/x"}, _postgres,
     "ANALYTICS_POSTGRES_DSN: cannot connect to PostgreSQL at postgresql://u:***@h:notaport/x"),
    ("PostgreSQL unreachable", {"ANALYTICS_POSTGRES_DSN": "postgresql://u:pw@127.0.0.1:1/sales"}, _postgres,
     "ANALYTICS_POSTGRES_DSN: cannot connect to PostgreSQL at postgresql://u:***@127.0.0.1:1/sales"),
    ("SMTP port not a number", {"ANALYTICS_SMTP_HOST": "127.0.0.1", "ANALYTICS_SMTP_PORT": "smtp"}, _smtp_send,
     "ANALYTICS_SMTP_PORT: 'smtp' is not a port number"),
    ("unknown SMTP TLS mode", {"ANALYTICS_SMTP_HOST": "127.0.0.1", "ANALYTICS_SMTP_TLS": "tls1.3"}, _smtp_send,
     "ANALYTICS_SMTP_TLS: 'tls1.3' is not one of none, starttls, ssl"),
    ("sender not an address", {"ANALYTICS_SMTP_HOST": "127.0.0.1", "ANALYTICS_SMTP_SENDER": "reports"}, _smtp_send,
     "ANALYTICS_SMTP_SENDER: 'reports' is not an e-mail address"),
    ("no SMTP host", {"ANALYTICS_SMTP_SENDER": "reports@company.com"}, _smtp_send, "ANALYTICS_SMTP_HOST: not set"),
    ("BI user not an identifier", {"ANALYTICS_BI_USER": "bi user"}, _bi_user,
     "ANALYTICS_BI_USER: 'bi user' is not a valid identifier"),
]


@pytest.mark.parametrize("env, read, message", corpus("settings", SETTING_CASES))
def test_a_bad_setting_is_one_line_naming_it(monkeypatch, tmp_path, env, read, message):
    for name in [*settings.SMTP.values(), "ANALYTICS_BI_USER"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises((SettingError, ValueError)) as caught:
        read()
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text, text
    assert ":pw@" not in text


def test_bad_input_figures(figures):
    total = sum(KINDS.values())
    assert total >= 25
    figures.record("bad input", "kinds", total)
    for area, count in KINDS.items():
        figures.record("bad input", f"kinds: {area}", count)
