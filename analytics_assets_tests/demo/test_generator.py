"""The demo data generator against a real PostgreSQL: determinism, exact counts, clean data is
clean, dirty data has every kind of bad row it reports, and apply_activity's hour of activity."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from analytics_assets.demo import generator
from analytics_assets.demo.generator import apply_activity, create_schema, generate

AS_OF = datetime(2025, 6, 30, 12, 0, tzinfo=timezone.utc)
SIZES = dict(customers=2_000, products=100, sales=20_000)
TABLES = {"customers": "customer_id", "products": "product_id", "sales": "sale_id"}

# Python's regex syntax and PostgreSQL's agree on this bracket expression: the odd characters the
# generator may put in names (emoji, combining accents, Hebrew/Arabic, zero-width and bidi marks,
# double quote, comma, backslash, newline, tab). Clean names have none of them.
ODD_NAME = "[\n\t\\\\\",\u200b-\u200f\u0300-\u036f\u0590-\u06ff\U0001F000-\U0001FAFF]"

# kind -> SQL counting the rows of that kind; the dirty kinds are disjoint, so each count must
# equal the generator's own.
CHECKS = {
    "orphan_customer_id": "SELECT count(*) FROM sales s"
                          " WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)",
    "orphan_product_id": "SELECT count(*) FROM sales s"
                         " WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = s.product_id)",
    "negative_quantity": "SELECT count(*) FROM sales WHERE quantity < 0",
    "discount_gt_total": "SELECT count(*) FROM sales WHERE quantity > 0 AND discount_amount > total_amount",
    "future_sale_date": "SELECT count(*) FROM sales WHERE sale_date >= %(as_of)s",
    "null_sale_date": "SELECT count(*) FROM sales WHERE sale_date IS NULL",
    "null_status": "SELECT count(*) FROM sales WHERE status IS NULL",
    "null_total_amount": "SELECT count(*) FROM sales WHERE total_amount IS NULL",
    "null_discount_amount": "SELECT count(*) FROM sales WHERE discount_amount IS NULL",
    "duplicate_email": "SELECT count(*) - count(DISTINCT lower(btrim(email))) FROM customers",
    "odd_unicode_name": "SELECT count(*) FROM customers WHERE customer_name ~ %(odd)s",
    "null_customer_segment": "SELECT count(*) FROM customers WHERE customer_segment IS NULL",
    "null_region": "SELECT count(*) FROM customers WHERE region IS NULL",
    "nonstandard_segment": "SELECT count(*) FROM customers WHERE customer_segment <> ALL(%(segments)s)",
    "nonstandard_region": "SELECT count(*) FROM customers WHERE region <> ALL(%(regions)s)",
    "null_category": "SELECT count(*) FROM products WHERE category IS NULL",
    "nonstandard_category": "SELECT count(*) FROM products WHERE category <> ALL(%(categories)s)",
}
CHECK_PARAMS = {"as_of": AS_OF, "odd": ODD_NAME, "segments": list(generator.SEGMENTS),
                "regions": list(generator.REGIONS), "categories": list(generator.CATALOG)}


def _make(dsn: str, **overrides) -> generator.GenerateResult:
    args = dict(SIZES, seed=7, as_of=AS_OF, dirty=False)
    args.update(overrides)
    return generate(dsn, **args)


def _connect(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("SET TIME ZONE 'UTC'")
    return conn


def _fingerprints(dsn: str) -> dict[str, tuple[int, str]]:
    """Per table (rows, md5 of all rows' text in primary-key order)."""
    with _connect(dsn) as conn:
        return {table: conn.execute(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY {pk}))"
                                    f" FROM {table} t").fetchone() for table, pk in TABLES.items()}


def _value(conn: psycopg.Connection, query: str, params=None):
    return conn.execute(query, params).fetchone()[0]


def test_same_arguments_give_identical_tables(pg_dsn):
    _make(pg_dsn, dirty=True)
    first = _fingerprints(pg_dsn)
    _make(pg_dsn, dirty=True)  # truncates and regenerates
    assert _fingerprints(pg_dsn) == first


def test_another_seed_gives_other_data(pg_dsn):
    _make(pg_dsn, seed=1)
    one = _fingerprints(pg_dsn)
    _make(pg_dsn, seed=2)
    two = _fingerprints(pg_dsn)
    for table in TABLES:
        assert one[table][0] == two[table][0]
        assert one[table][1] != two[table][1], table


def test_clean_data_is_clean(pg_dsn):
    result = _make(pg_dsn)
    assert (result.customers, result.products, result.sales, result.dirty_rows) == (2_000, 100, 20_000, {})
    with _connect(pg_dsn) as conn:
        for table, pk in TABLES.items():
            assert _value(conn, f"SELECT count(*) FROM {table}") == SIZES[table]
            assert _value(conn, f"SELECT min({pk}) = 1 AND max({pk}) = count(*) FROM {table}")
            columns = [r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))]
            nulls = " + ".join(f"count(*) - count({c})" for c in columns)
            assert _value(conn, f"SELECT {nulls} FROM {table}") == 0, table
        for kind, query in CHECKS.items():
            assert _value(conn, query, CHECK_PARAMS) == 0, kind
        assert _value(conn, "SELECT bool_and(quantity BETWEEN 1 AND 10 AND tax_amount >= 0"
                            " AND total_amount = quantity * unit_price AND updated_at >= sale_date"
                            " AND discount_amount BETWEEN 0 AND 0.3 * total_amount + 0.01) FROM sales")
        assert _value(conn, "SELECT max(sale_date) < %s AND min(sale_date) > %s FROM sales",
                      (AS_OF, AS_OF - timedelta(days=28 * 31)))
        for table in TABLES:
            assert _value(conn, f"SELECT max(updated_at) <= %s FROM {table}", (AS_OF,)), table
        assert _value(conn, "SELECT count(*) FROM customers WHERE email <> lower(email)"
                            " OR email !~ '^[a-z0-9._]+@[a-z0-9.-]+$'") == 0
        assert _value(conn, "SELECT count(*) FROM sales s JOIN customers c USING (customer_id)"
                            " WHERE c.signup_date >= s.sale_date::date") == 0


def test_clean_data_has_the_seed_shapes(pg_dsn):
    _make(pg_dsn)
    with _connect(pg_dsn) as conn:
        regions = {r[0]: r[1] for r in conn.execute(
            "SELECT region, count(DISTINCT country) FROM customers GROUP BY 1")}
        assert set(regions) == set(generator.REGIONS) and sum(regions.values()) >= 25
        assert _value(conn, "SELECT count(*) FROM (SELECT country FROM customers GROUP BY 1"
                            " HAVING count(DISTINCT region) > 1) x") == 0
        segments = dict(conn.execute("SELECT customer_segment, count(*) FROM customers GROUP BY 1"))
        assert segments["Consumer"] > segments["SMB"] > segments["Enterprise"] > 0
        subcategories = dict(conn.execute("SELECT category, count(DISTINCT subcategory) FROM products"
                                          " GROUP BY 1").fetchall())
        assert {"Electronics", "Apparel", "Home & Garden"} <= set(subcategories)
        assert all(3 <= n <= 6 for n in subcategories.values())
        statuses = dict(conn.execute("SELECT status, count(*) FROM sales GROUP BY 1").fetchall())
        assert set(statuses) == set(generator.STATUSES)
        assert 0.84 <= statuses["COMPLETED"] / 20_000 <= 0.92
        # A few customers buy a lot: the top 10% make well over 10% of the sales.
        assert _value(conn, "SELECT sum(n) FILTER (WHERE rank <= 200)::float / sum(n) FROM"
                            " (SELECT count(*) n, row_number() OVER (ORDER BY count(*) DESC) rank"
                            " FROM sales GROUP BY customer_id) x") > 0.3

        def per_day(where: str, per: str = "count(DISTINCT sale_date::date)") -> float:
            year_ago = AS_OF - timedelta(days=365)
            return _value(conn, f"SELECT count(*)::float / {per} FROM sales WHERE {where}",
                          {"year_ago": year_ago, "two_years_ago": year_ago - timedelta(days=365)})

        # Weekdays beat weekends, Nov/Dec beat the rest, afternoons beat nights, this year beats last.
        weekday, month, hour = (f"extract({part} FROM sale_date)" for part in ("isodow", "month", "hour"))
        assert per_day(f"{weekday} < 6") > 1.15 * per_day(f"{weekday} >= 6")
        assert per_day(f"{month} >= 11") > 1.2 * per_day(f"{month} < 11")
        assert per_day(f"{hour} BETWEEN 12 AND 14", per="1") > 4 * per_day(f"{hour} BETWEEN 2 AND 4", per="1")
        assert per_day("sale_date >= %(year_ago)s") > \
            1.15 * per_day("sale_date BETWEEN %(two_years_ago)s AND %(year_ago)s")


def test_dirty_data_has_each_kind_of_bad_row(pg_dsn):
    result = _make(pg_dsn, dirty=True)
    assert set(result.dirty_rows) == set(CHECKS)
    assert (result.customers, result.products, result.sales) == (2_000, 100, 20_000)
    dirty_sales = sum(n for kind, n in result.dirty_rows.items() if kind in generator.DIRTY_SALES)
    assert 0.005 * 20_000 <= dirty_sales <= 0.01 * 20_000
    with _connect(pg_dsn) as conn:
        for table in TABLES:
            assert _value(conn, f"SELECT count(*) FROM {table}") == SIZES[table]
        found = {kind: _value(conn, query, CHECK_PARAMS) for kind, query in CHECKS.items()}
        regions = {r[0] for r in conn.execute("SELECT DISTINCT region FROM customers")}
        names = [r[0] for r in conn.execute("SELECT customer_name FROM customers WHERE customer_name ~ %s",
                                            (ODD_NAME,))]
    assert found == result.dirty_rows
    assert all(n > 0 for n in found.values()), found
    assert "Middle East & Africa" in regions or result.dirty_rows["nonstandard_region"] < 6
    assert any("\n" in name or "\t" in name or "\u200d" in name or "\\" in name for name in names)


def test_generate_replaces_rows_in_an_existing_schema(pg_dsn):
    create_schema(pg_dsn)
    create_schema(pg_dsn)  # idempotent
    with _connect(pg_dsn) as conn:
        conn.execute("INSERT INTO sales (sale_id, status) VALUES (99999999, 'STALE')")
    _make(pg_dsn, sales=1_000)
    with _connect(pg_dsn) as conn:
        assert _value(conn, "SELECT count(*) FROM sales WHERE status = 'STALE'") == 0
        assert _value(conn, "SELECT count(*) FROM sales") == 1_000
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'sales'")}
    assert {"sales_pkey", "sales_updated_at_idx", "sales_sale_date_idx"} <= indexes


def test_as_of_must_be_timezone_aware(pg_dsn):
    with pytest.raises(ValueError):
        _make(pg_dsn, as_of=datetime(2025, 6, 30, 12, 0))


def _snapshot(conn: psycopg.Connection) -> dict:
    return {"count": _value(conn, "SELECT count(*) FROM sales"),
            "max_id": _value(conn, "SELECT max(sale_id) FROM sales"),
            "newest": _value(conn, "SELECT greatest((SELECT max(updated_at) FROM sales),"
                                   " (SELECT max(updated_at) FROM customers),"
                                   " (SELECT max(updated_at) FROM products))"),
            "status": dict(conn.execute("SELECT sale_id, status FROM sales").fetchall())}


def test_apply_activity_adds_an_hour_of_sales_and_changes(pg_dsn):
    _make(pg_dsn, dirty=True)
    with _connect(pg_dsn) as conn:
        before = _snapshot(conn)
    result = apply_activity(pg_dsn, seed=3)
    start, end = result.window_start, result.window_end
    assert start == before["newest"] and end == start + timedelta(hours=1)
    with _connect(pg_dsn) as conn:
        # About an hour at the rate of the week before (Poisson), not a share of the whole history.
        hourly = _value(conn, "SELECT count(*) / 168.0 FROM sales WHERE sale_date >= %(s)s::timestamptz"
                              " - interval '7 days' AND sale_date < %(s)s AND sale_id <= %(m)s",
                        {"s": start, "m": before["max_id"]})
        assert abs(result.new_sales - float(hourly)) <= 1 + 5 * max(float(hourly), 1) ** 0.5, (result, hourly)
        assert result.new_sales < 0.002 * before["count"]
        # Sales strictly before the end: the end becomes the logical time of half-open windows.
        new = conn.execute("SELECT min(sale_id), max(sale_id), count(*), bool_and(sale_date > %(s)s AND"
                           " sale_date < %(e)s AND updated_at >= sale_date AND updated_at <= %(e)s),"
                           " bool_and(status IN ('PENDING', 'COMPLETED'))"
                           " FROM sales WHERE sale_id > %(max_id)s",
                           {"s": start, "e": end, "max_id": before["max_id"]}).fetchone()
        changed = conn.execute("SELECT sale_id, status FROM sales WHERE sale_id <= %s AND updated_at > %s",
                               (before["max_id"], start)).fetchall()
        window_ok = _value(conn, "SELECT bool_and(updated_at > %(s)s AND updated_at <= %(e)s) FROM sales"
                                 " WHERE updated_at > %(s)s", {"s": start, "e": end})
        moved = _value(conn, "SELECT count(*) FROM customers WHERE updated_at > %s AND updated_at <= %s",
                       (start, end))
        assert _value(conn, "SELECT count(*) FROM sales") == before["count"] + result.new_sales
    assert new == (before["max_id"] + 1, before["max_id"] + result.new_sales, result.new_sales, True, True)
    assert window_ok
    assert result.status_changes == len(changed) > 0
    allowed = {"PENDING": {"COMPLETED", "CANCELLED"}, "COMPLETED": {"REFUNDED"}}
    for sale_id, status in changed:
        assert status in allowed[before["status"][sale_id]], (sale_id, before["status"][sale_id], status)
    assert 1 <= moved <= 20


def test_apply_activity_is_deterministic_and_moves_on(pg_dsn):
    def run() -> tuple:
        _make(pg_dsn, sales=5_000)
        first = apply_activity(pg_dsn, seed=5)
        second = apply_activity(pg_dsn, seed=5)
        return first, second, _fingerprints(pg_dsn)

    first, second, fingerprints = run()
    assert run() == (first, second, fingerprints)
    assert second.window_start > first.window_start


def test_activity_never_runs_ahead_of_the_wall_clock(pg_dsn):
    _make(pg_dsn, sales=5_000)
    with _connect(pg_dsn) as conn:
        newest = _snapshot(conn)["newest"]
    now = newest + timedelta(minutes=20)
    result = apply_activity(pg_dsn, seed=4, now=now)
    assert result.window_end == now  # not the hour after the newest change
    with _connect(pg_dsn) as conn:
        assert _value(conn, "SELECT max(greatest(sale_date, updated_at)) FROM sales") <= now
    with pytest.raises(ValueError, match="is not before now: no activity to add yet"):
        apply_activity(pg_dsn, seed=4, now=newest)  # data already at the clock: nothing is added
