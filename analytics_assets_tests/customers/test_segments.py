"""Customer segmentation end to end on real engines: the seed's RFM numbers, and edge cases the
seed crashed on."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from analytics_assets.demo import generator
from analytics_assets.resources import PostgresResource
from analytics_assets_tests.ingest.conftest import execute

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)

# The seed's calculate_rfm_metrics query, CURRENT_DATE -> the logical date plus an upper bound at
# the logical time (the seed's window had none).
SEED_RFM = """
    SELECT
        c.customer_id,
        EXTRACT(DAY FROM (%(as_of)s::timestamptz - MAX(s.sale_date)))::int as recency_days,
        COUNT(DISTINCT s.sale_id) as frequency,
        SUM(s.total_amount - s.discount_amount) as monetary_value,
        ROUND(AVG(s.total_amount - s.discount_amount), 2) as avg_order_value,
        SUM(s.quantity) as total_items_purchased,
        COUNT(DISTINCT p.category) as categories_purchased,
        DATE(MAX(s.sale_date)) as last_purchase_date,
        DATE(MIN(s.sale_date)) as first_purchase_date
    FROM customers c
    LEFT JOIN sales s ON c.customer_id = s.customer_id
        AND s.status = 'COMPLETED'
        AND s.sale_date >= %(as_of_date)s::date - INTERVAL '365 days'
        AND s.sale_date < %(as_of)s
    LEFT JOIN products p ON s.product_id = p.product_id
    GROUP BY c.customer_id
    HAVING COUNT(s.sale_id) > 0
    ORDER BY c.customer_id
"""
COLUMNS = ("customer_id, recency_days, frequency, monetary_value, avg_order_value, total_items_purchased,"
           " categories_purchased, last_purchase_date, first_purchase_date")


def _norm(row):
    return tuple(v.normalize() if isinstance(v, Decimal) else v for v in row)


def test_rfm_equals_the_seeds_sql_and_every_stage_lands(pg_dsn, clickhouse, segment):
    generator.generate(pg_dsn, customers=1500, products=80, sales=30000, seed=8, as_of=AS_OF, dirty=True)
    pg = PostgresResource(dsn=pg_dsn)
    result = segment(pg, clickhouse, AS_OF)
    assert result.success
    with pg.connect() as conn:
        expected = [_norm(r) for r in conn.execute(SEED_RFM, {"as_of": AS_OF, "as_of_date": AS_OF.date()})]
    with clickhouse.get_client() as wh:
        actual = [_norm(r) for r in wh.rows(f"SELECT {COLUMNS} FROM customer_segments ORDER BY customer_id")]
        summary = wh.rows("SELECT sum(customer_count), sum(total_revenue) FROM customer_segment_summary")[0]
        model = dict(((m, p), v) for m, p, v in wh.rows("SELECT model, param, value FROM customer_clv_model"))
        converged = wh.scalar("SELECT min(converged) FROM customer_clv_model")
        labels = {r[0] for r in wh.rows("SELECT DISTINCT behavior_segment FROM customer_segments")}
    assert len(actual) == len(expected) > 1000
    assert actual == expected
    assert summary[0] == len(expected)
    assert set(model) == {("bg_nbd", "r"), ("bg_nbd", "alpha"), ("bg_nbd", "a"), ("bg_nbd", "b"),
                          ("gamma_gamma", "p"), ("gamma_gamma", "q"), ("gamma_gamma", "gamma")}
    assert converged == 1
    assert labels <= {"VIP", "Frequent", "Active", "Dormant", "Regular"} and len(labels) >= 2
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.asset_check_evaluation_data.asset_key.path[0].startswith("customer")}
    assert checks and all(checks.values()), checks


def _tiny_source(pg: PostgresResource, sales: list[tuple]) -> None:
    """customers 1..5, products 1..2, and the given sales (id, customer, date, total, discount, status)."""
    generator.create_schema(pg.resolved_dsn())
    execute(pg, "INSERT INTO customers SELECT i, 'C' || i, 'c' || i || '@x', '2024-01-01', 'SMB', 'Europe',"
                " 'Germany', 'Bavaria', '2024-01-01' FROM generate_series(1, 5) i")
    execute(pg, "INSERT INTO products VALUES (1, 'P1', 'Electronics', 'Phones', '2024-01-01'),"
                " (2, 'P2', 'Apparel', 'Shirts', '2024-01-01')")
    for sale_id, customer, day, total, discount, status in sales:
        execute(pg, "INSERT INTO sales VALUES (%s, %s, 1, %s, 1, %s, %s, %s, 0, %s, %s)",
                (sale_id, customer, day, total, total, discount, status, day))


EDGE_CASES = {
    "one customer": [(1, 1, "2026-06-01", 10, 0, "COMPLETED"), (2, 1, "2026-06-10", 20, 0, "COMPLETED")],
    "all customers tied": [(i, i, "2026-06-01", 10, 0, "COMPLETED") for i in range(1, 6)],
    "single-purchase customers": [(i, i, f"2026-0{i}-01", 10 * i, 0, "COMPLETED") for i in range(1, 6)],
    "refunds only": [(1, 1, "2026-05-01", 10, 0, "REFUNDED"), (2, 2, "2026-05-02", 10, 0, "REFUNDED"),
                     (3, 3, "2026-05-03", 15, 0, "COMPLETED")],
    "zero-value purchases": [(i, i % 3 + 1, f"2026-0{i % 5 + 1}-1{i % 9}", 10, 10, "COMPLETED") for i in range(1, 12)],
    "purchases only after the logical time": [(1, 1, "2026-07-05", 10, 0, "COMPLETED"),
                                              (2, 2, "2026-06-01", 10, 0, "COMPLETED")],
}
EXPECTED_CUSTOMERS = {
    "one customer": [1], "all customers tied": [1, 2, 3, 4, 5], "single-purchase customers": [1, 2, 3, 4, 5],
    "refunds only": [3], "zero-value purchases": [1, 2, 3], "purchases only after the logical time": [2],
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_never_crash_and_segment_the_right_customers(pg_dsn, clickhouse, segment, case):
    pg = PostgresResource(dsn=pg_dsn)
    _tiny_source(pg, EDGE_CASES[case])
    result = segment(pg, clickhouse, AS_OF, raise_on_error=False)
    assert result.success, case
    with clickhouse.get_client() as wh:
        rows = wh.rows("SELECT customer_id, r_score, f_score, m_score, rfm_segment, behavior_segment, clv_segment"
                       " FROM customer_segments ORDER BY customer_id")
        clusters = wh.scalar("SELECT uniqExact(behavior_cluster) FROM customer_behavior_clusters")
    assert [r[0] for r in rows] == EXPECTED_CUSTOMERS[case]
    assert all(1 <= score <= 5 for r in rows for score in r[1:4])
    assert clusters <= min(5, len(rows))
    if case == "all customers tied":
        assert len({r[1] for r in rows}) == 1  # tied recency, one r_score (the seed's qcut raised here)


def test_the_simple_clv_is_average_order_value_times_purchases_per_year_times_three(pg_dsn, clickhouse,
                                                                                      segment):
    """The original Airflow examples' simple CLV, computed once (customer_rfm.sql), carried by customer_segments."""
    pg = PostgresResource(dsn=pg_dsn)
    _tiny_source(pg, [(1, 1, "2026-06-01", 10, 0, "COMPLETED"), (2, 1, "2026-06-11", 20, 0, "COMPLETED"),
                      (3, 2, "2026-06-05", 40, 0, "COMPLETED")])
    assert segment(pg, clickhouse, AS_OF).success
    with clickhouse.get_client() as wh:
        rows = wh.rows("SELECT customer_id, customer_lifespan_days, purchase_frequency_per_year, predicted_clv_3y"
                       " FROM customer_segments ORDER BY customer_id")
        rfm = wh.rows("SELECT customer_id, simple_clv_3y FROM customer_rfm ORDER BY customer_id")
    # 1: two sales 10 days apart, 15.00 each on average: 2 / 10 x 365 = 73 a year, x 3 years;
    # 2: one sale: its frequency (1) is the yearly rate
    assert rows == [(1, 10, pytest.approx(73.0), Decimal("3285.00")), (2, 0, 1.0, Decimal("120.00"))]
    assert rfm == [(r[0], r[3]) for r in rows]
