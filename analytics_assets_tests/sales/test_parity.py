"""Every dashboard mart equals the seed's SQL run on PostgreSQL, row for row, to the cent.

The reference queries in `seed_sql/` are the seed's own, adapted only for the logical time
(CURRENT_DATE -> the logical date, plus an upper bound at the logical time) and for the fixes the
README lists (each marked FIX in the file). The source is generated with `--dirty` rows: orphan
keys, NULLs, negative quantities, future dates, values outside the seed's lists.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from analytics_assets.demo import generator
from analytics_assets.resources import PostgresResource
from analytics_assets.sales.marts import LAST_7_DAYS, MARTS

SEED_SQL = Path(__file__).with_name("seed_sql")
GENERATED_AS_OF = datetime(2025, 6, 30, 12, tzinfo=timezone.utc)  # data from early 2023: includes 2024-02-29
AS_OFS = [
    datetime(2025, 6, 30, 12, tzinfo=timezone.utc),  # YoY against a leap year (Feb 29)
    datetime(2025, 1, 3, tzinfo=timezone.utc),  # midnight, three days into a year
    datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone.utc),  # a full leap year to date
]


def _normalize(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, Decimal):
        return value.normalize() if value != 0 else Decimal(0)
    return value


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return _normalize(a) == _normalize(b)


def _sort_key(row):
    return tuple((v is None, str(_normalize(v))) for v in row)


@pytest.fixture(scope="module")
def dirty_source(postgres_server):
    import psycopg
    from psycopg import sql

    name = "parity_source"
    with psycopg.connect(postgres_server.dsn_for("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = postgres_server.dsn_for(name)
    generator.generate(dsn, customers=1500, products=120, sales=40000, seed=11, as_of=GENERATED_AS_OF, dirty=True)
    return PostgresResource(dsn=dsn)


@pytest.mark.parametrize("as_of", AS_OFS, ids=lambda d: d.isoformat())
def test_marts_equal_the_seeds_sql(dirty_source, clickhouse, run, as_of):
    result = run(dirty_source, clickhouse, as_of)
    assert result.success
    compared = 0
    with dirty_source.connect() as conn, clickhouse.get_client() as wh:
        for mart in MARTS:
            reference = (SEED_SQL / f"{mart.name}.sql").read_text()
            cursor = conn.execute(reference, {"as_of": as_of, "as_of_date": as_of.date()})
            columns = [c.name for c in cursor.description]
            expected = sorted(cursor.fetchall(), key=_sort_key)
            # dashboard_daily_metrics keeps every day; the original's 7 days are its view.
            table = LAST_7_DAYS if mart.name == "dashboard_daily_metrics" else mart.name
            actual = sorted(wh.rows(f"SELECT {', '.join(columns)} FROM {table}"), key=_sort_key)
            assert len(actual) == len(expected), f"{mart.name}: {len(actual)} rows, the seed's SQL gives {len(expected)}"
            for want, got in zip(expected, actual):
                mismatches = [(c, w, g) for c, w, g in zip(columns, want, got) if not _same(w, g)]
                assert not mismatches, f"{mart.name}: {mismatches} in row {want}"
            compared += len(expected)
    assert compared > 100


@pytest.mark.parametrize("as_of", AS_OFS[:2], ids=lambda d: d.isoformat())
def test_daily_metrics_keep_every_day_since_the_first_sale(dirty_source, clickhouse, run, as_of):
    """The original kept every day's row (it never deleted): the mart equals its query without the
    7-day window, every day from the first sale to the logical time."""
    assert run(dirty_source, clickhouse, as_of).success
    reference = (SEED_SQL / "dashboard_daily_metrics.sql").read_text()
    window = "s.sale_date >= %(as_of_date)s::date - INTERVAL '7 days'"
    assert window in reference
    with dirty_source.connect() as conn, clickhouse.get_client() as wh:
        cursor = conn.execute(reference.replace(window, "TRUE"), {"as_of": as_of, "as_of_date": as_of.date()})
        columns = [c.name for c in cursor.description]
        expected = sorted(cursor.fetchall(), key=_sort_key)
        actual = sorted(wh.rows(f"SELECT {', '.join(columns)} FROM dashboard_daily_metrics"), key=_sort_key)
        first_sale = conn.execute("SELECT min(sale_date)::date FROM sales WHERE status = 'COMPLETED'").fetchone()[0]
    assert len(expected) > 365 and min(row[0] for row in actual) == first_sale
    assert len(actual) == len(expected)
    for want, got in zip(expected, actual):
        mismatches = [(c, w, g) for c, w, g in zip(columns, want, got) if not _same(w, g)]
        assert not mismatches, f"dashboard_daily_metrics: {mismatches} in row {want}"


def test_the_dirty_rows_reach_the_windows(dirty_source):
    """The parity above is only meaningful if bad rows fall inside the marts' windows."""
    as_of = AS_OFS[0]
    with dirty_source.connect() as conn:
        row = conn.execute(
            """
            SELECT count(*) FILTER (WHERE s.quantity < 0),
                   count(*) FILTER (WHERE c.customer_id IS NULL),
                   count(*) FILTER (WHERE c.customer_segment IS NULL OR c.customer_segment NOT IN ('Enterprise', 'SMB', 'Consumer')),
                   count(*) FILTER (WHERE s.total_amount IS NULL OR s.discount_amount IS NULL)
            FROM sales s LEFT JOIN customers c USING (customer_id)
            WHERE s.sale_date >= %s::date - 90 AND s.sale_date < %s AND s.status = 'COMPLETED'
            """,
            (as_of.date(), as_of),
        ).fetchone()
    assert all(n > 0 for n in row), row


def test_the_seeds_yoy_query_duplicates_feb_28_after_a_leap_year(dirty_source):
    """Why dashboard_yoy_comparison re-aggregates: the seed's own query, unchanged but for the date."""
    seed_query = """
        WITH current_year AS (
            SELECT DATE(sale_date) as date, SUM(total_amount - discount_amount) as revenue, COUNT(*) as orders
            FROM sales WHERE sale_date >= DATE_TRUNC('year', %(d)s::date) AND status = 'COMPLETED'
            GROUP BY DATE(sale_date)
        ),
        previous_year AS (
            SELECT DATE(sale_date) + INTERVAL '1 year' as date, SUM(total_amount - discount_amount) as revenue,
                   COUNT(*) as orders
            FROM sales
            WHERE sale_date >= DATE_TRUNC('year', %(d)s::date) - INTERVAL '1 year'
              AND sale_date < DATE_TRUNC('year', %(d)s::date) AND status = 'COMPLETED'
            GROUP BY DATE(sale_date)
        )
        SELECT cy.date, count(*) FROM current_year cy LEFT JOIN previous_year py ON cy.date = py.date
        GROUP BY cy.date HAVING count(*) > 1
    """
    with dirty_source.connect() as conn:
        duplicates = conn.execute(seed_query, {"d": datetime(2025, 6, 30).date()}).fetchall()
    assert [d.isoformat() for d, _ in duplicates] == ["2025-02-28"]
