"""customer_360 refreshed for the customers that changed equals a full rebuild, at every logical time.

Two databases of one embedded ClickHouse replicate the same PostgreSQL source: in one customer_360
is refreshed incrementally all along, in the other rebuilt from sales_fact each time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from analytics_assets.customer360.assets import customer_360
from analytics_assets.demo import generator
from analytics_assets.ingest.sources import SOURCE_TABLES
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets_tests.ingest.conftest import execute
from analytics_assets_tests.sales.conftest import ALL, run_pipeline

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
FACT = ["raw_customers", "raw_products", "raw_sales", "sales_fact"]
RECONCILE = {"ops": {t.replica: {"config": {"reconcile_deletes": True}} for t in SOURCE_TABLES}}
SEGMENTS = ("CREATE TABLE customer_segments ENGINE = MergeTree ORDER BY customer_id AS SELECT"
            " customer_id, toUInt8(customer_id % 5 + 1) AS r_score, toUInt8(3) AS f_score, toUInt8(2) AS m_score,"
            " 'Champions' AS rfm_segment, 'VIP' AS behavior_segment, 'High Value' AS clv_segment,"
            " 0.5 AS probability_alive, 1.5 AS expected_purchases_3y, toDecimal64(10.25, 2) AS model_clv_3y"
            " FROM raw_customers FINAL WHERE customer_id % 3 = 0")


def build(clickhouse, as_of: datetime, *, full: bool = False, raise_on_error: bool = True):
    return dg.materialize(
        [*ALL, customer_360], resources={"clickhouse": clickhouse, "postgres": PostgresResource(dsn="unused")},
        selection=["customer_360"],
        run_config={"ops": {"customer_360": {"config": {"full_rebuild": full}}}},
        tags={AS_OF_TAG: as_of.isoformat()}, raise_on_error=raise_on_error)


def metadata(result) -> dict:
    (materialization,) = result.asset_materializations_for_node("customer_360")
    return {k: v.value for k, v in materialization.metadata.items()}


def snapshot(clickhouse) -> list[tuple]:
    with clickhouse.get_client() as wh:
        return [tuple(r) for r in wh.rows("SELECT * FROM customer_360 ORDER BY customer_id")]


@pytest.fixture
def source(pg_dsn):
    generator.generate(pg_dsn, customers=300, products=30, sales=6000, seed=11, as_of=AS_OF, dirty=True)
    return PostgresResource(dsn=pg_dsn)


@pytest.fixture
def pair(clickhouse):
    """(incremental, rebuilt each time): the same chDB, two databases."""
    return clickhouse, ClickHouseResource(dsn=clickhouse.dsn, database="analytics_rebuilt")


def step(pg, pair, as_of: datetime, *, expect: str = "incremental") -> dict:
    """Replicate and refresh sales_fact in both, customer_360 incrementally in one and from scratch in
    the other, and compare every row and column."""
    incremental, rebuilt = pair
    for clickhouse in pair:
        run_pipeline(pg, clickhouse, as_of, selection=FACT, run_config=RECONCILE)
    delta = metadata(build(incremental, as_of))
    assert metadata(build(rebuilt, as_of, full=True))["build"] == "full"
    assert delta["build"] == expect, delta.get("full_build_reason")
    assert snapshot(incremental) == snapshot(rebuilt)
    return delta


def both(pair, statement: str, rows=None, columns=None) -> None:
    for clickhouse in pair:
        with clickhouse.get_client() as wh:
            if rows is None:
                wh.command(statement)
            else:
                wh.insert_rows(statement, rows, columns)


def completed_sale(pg, before: datetime, skip: int = 0) -> tuple[int, int]:
    with pg.connect() as conn:
        return conn.execute("SELECT sale_id, customer_id FROM sales WHERE status = 'COMPLETED' AND sale_date < %s"
                            " AND customer_id IS NOT NULL ORDER BY sale_id OFFSET %s LIMIT 1", (before, skip)).fetchone()


def test_incremental_customer_360_equals_a_full_rebuild_at_every_logical_time(source, pair):
    pg = source
    first = step(pg, pair, AS_OF, expect="full")
    assert first["full_build_reason"] == "table missing"

    # An hour of activity (new sales, status changes, customers moving), and by hand: a sale moved to
    # another day, a sale deleted, a sale given to another customer, a customer renamed, a customer
    # deleted, a product's category changed.
    activity = generator.apply_activity(pg.dsn, seed=1, now=AS_OF + timedelta(hours=1))
    at = activity.window_end
    moved, deleted, reassigned = (completed_sale(pg, AS_OF - timedelta(days=40), skip) for skip in (3, 50, 90))
    execute(pg, "UPDATE sales SET sale_date = '2025-03-01 10:00+00', updated_at = %s WHERE sale_id = %s", (at, moved[0]))
    execute(pg, "DELETE FROM sales WHERE sale_id = %s", (deleted[0],))
    execute(pg, "UPDATE sales SET customer_id = 17, updated_at = %s WHERE sale_id = %s", (at, reassigned[0]))
    execute(pg, "UPDATE customers SET customer_name = 'Renamed', updated_at = %s WHERE customer_id = 5", (at,))
    execute(pg, "DELETE FROM customers WHERE customer_id = 8")
    execute(pg, "UPDATE products SET category = 'Garden', updated_at = %s WHERE product_id = 7", (at,))
    delta = step(pg, pair, at + timedelta(minutes=5))
    assert 0 < delta["customers_recomputed"] < 300

    # A new day starts (the windows' edges move) and signed-in product events land.
    generator.apply_activity(pg.dsn, seed=2, now=AS_OF + timedelta(hours=3))
    events = [(AS_OF - timedelta(days=days, hours=1), "view", f"u{cid}", f"s{cid}-{days}", cid)
              for cid in (1, 2, 3, 40) for days in (0, 10, 29, 31, 45)]
    both(pair, "product_events", events, ["event_time", "event_name", "user_id", "session_id", "customer_id"])
    next_day = datetime(2026, 7, 1, 9, tzinfo=timezone.utc)
    step(pg, pair, next_day)

    # The logical time goes back (a rerun of an earlier hour): sales after it drop out again.
    step(pg, pair, AS_OF + timedelta(hours=1, minutes=30))

    # The first segmentation appears: its columns change for many customers at once.
    both(pair, SEGMENTS)
    assert step(pg, pair, next_day + timedelta(hours=1), expect="full")["full_build_reason"] == \
        "new customer segmentation"

    # A sale of a customer the source does not know yet, then the customer arrives.
    later = next_day + timedelta(hours=2)
    execute(pg, "INSERT INTO sales (sale_id, sale_date, customer_id, product_id, quantity, unit_price, total_amount,"
            " discount_amount, tax_amount, status, updated_at) VALUES (9000001, %s, 90001, 3, 2, 10.00, 20.00, 0, 1.60,"
            " 'COMPLETED', %s)", (later - timedelta(days=2), later - timedelta(hours=1)))
    step(pg, pair, later)
    execute(pg, "INSERT INTO customers (customer_id, customer_name, email, signup_date, customer_segment, region,"
            " country, state, updated_at) VALUES (90001, 'Late Arrival', 'late@example.com', '2026-06-01', 'Consumer',"
            " 'North America', 'USA', 'CA', %s)", (later,))
    delta = step(pg, pair, later + timedelta(hours=1))
    with pair[0].get_client() as wh:
        assert wh.rows("SELECT lifetime_orders, lifetime_net_revenue FROM customer_360 WHERE customer_id = 90001") \
            == [(1, 20)]


def test_a_rerun_changes_nothing_and_recomputes_nobody(source, clickhouse):
    run_pipeline(source, clickhouse, AS_OF, selection=FACT)
    build(clickhouse, AS_OF)
    before = snapshot(clickhouse)
    again = metadata(build(clickhouse, AS_OF))
    assert again["build"] == "incremental" and again["customers_recomputed"] == 0
    assert snapshot(clickhouse) == before


def test_a_failing_gate_keeps_the_previous_table_and_the_next_run_rebuilds(source, clickhouse):
    run_pipeline(source, clickhouse, AS_OF, selection=FACT)
    build(clickhouse, AS_OF)
    before = snapshot(clickhouse)
    generator.apply_activity(source.dsn, seed=4, now=AS_OF + timedelta(hours=1))
    run_pipeline(source, clickhouse, AS_OF + timedelta(hours=1), selection=FACT)
    with clickhouse.get_client() as wh:  # the kept totals no longer match the fact on one day
        wh.command("INSERT INTO customer_360_sales_days SELECT * REPLACE (orders + 1 AS orders, toUInt64(1000000000) AS version)"
                   " FROM customer_360_sales_days FINAL WHERE sale_day = '2026-01-15'")
    failed = build(clickhouse, AS_OF + timedelta(hours=1), raise_on_error=False)
    assert not failed.success
    checks = {e.event_specific_data.check_name: e.event_specific_data.passed for e in failed.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks == {"unique_key": True, "one_row_per_known_customer": True, "reconciles_with_sales_fact": False}
    assert snapshot(clickhouse) == before
    rebuilt = metadata(build(clickhouse, AS_OF + timedelta(hours=1)))
    assert rebuilt["build"] == "full" and rebuilt["full_build_reason"] == "the last refresh stopped part-way"
