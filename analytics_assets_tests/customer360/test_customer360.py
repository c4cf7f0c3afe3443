"""Customer 360 and cohorts on a handful of known sales: exact figures, and pandas' cohort matrix."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import dagster as dg
import pandas as pd
import pytest

from analytics_assets.customer360.assets import customer360_assets
from analytics_assets.events.load import ensure_tables as ensure_event_tables
from analytics_assets.ingest.sources import CUSTOMERS, PRODUCTS
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.warehouse.tables import create_table_sql
from analytics_assets_tests.support import SALES

AS_OF = datetime(2026, 11, 2, tzinfo=timezone.utc)


@pytest.fixture
def built(sales):
    with sales.get_client() as wh:
        wh.command(create_table_sql("raw_customers", CUSTOMERS.replica_body()))
        wh.command(create_table_sql("raw_products", PRODUCTS.replica_body()))  # read for its categories
        wh.insert_rows("raw_customers", [(cid, f"Customer {cid}", datetime(2026, 1, 1, tzinfo=timezone.utc), deleted)
                                         for cid, deleted in ((1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 1))],
                       ["customer_id", "customer_name", "updated_at", "_is_deleted"])
        wh.command("CREATE TABLE customer_segments ENGINE = MergeTree ORDER BY customer_id AS SELECT"
                   " toInt64(1) AS customer_id, toUInt8(5) AS r_score, toUInt8(4) AS f_score, toUInt8(5) AS m_score,"
                   " 'Champions' AS rfm_segment, 'VIP' AS behavior_segment, 'High Value' AS clv_segment,"
                   " 0.9 AS probability_alive, 2.5 AS expected_purchases_3y, toDecimal64(123.45, 2) AS model_clv_3y")
        ensure_event_tables(wh, 0)
        wh.insert_rows("product_events", [  # customer 1's signed-in events; the anonymous one is nobody's
            (datetime(2026, 10, 30, 9, tzinfo=timezone.utc), "view", "u1", "s1", 1),
            (datetime(2026, 10, 30, 9, 5, tzinfo=timezone.utc), "purchase", "u1", "s1", 1),
            (datetime(2026, 11, 1, 20, tzinfo=timezone.utc), "view", "u1", "s2", 1),
            (datetime(2026, 9, 1, 9, tzinfo=timezone.utc), "view", "u1", "s0", 1),  # more than 30 days before
            (datetime(2026, 11, 2, 9, tzinfo=timezone.utc), "view", "u1", "s3", 1),  # after the logical time
            (datetime(2026, 11, 1, 9, tzinfo=timezone.utc), "view", "u9", "s9", None),
        ], ["event_time", "event_name", "user_id", "session_id", "customer_id"])
    result = dg.materialize(customer360_assets, resources={"clickhouse": sales}, tags={AS_OF_TAG: AS_OF.isoformat()})
    assert result.success and all(e.event_specific_data.passed for e in result.all_events
                                  if e.event_type_value == "ASSET_CHECK_EVALUATION")
    return sales


def test_customer_360_holds_each_live_customer_once_with_exact_figures(built):
    with built.get_client() as wh:
        rows = {r[0]: r[1:] for r in wh.rows(
            "SELECT customer_id, lifetime_orders, lifetime_net_revenue, first_purchase_date, last_purchase_date,"
            " days_since_last_purchase, orders_30d, favourite_category, rfm_segment, model_clv_3y FROM customer_360")}
    assert set(rows) == {1, 2, 3, 4, 5}  # 6 is deleted at the source
    # Customer 1: 15 Sep 40.00, 3 Oct 100.00, 20 Oct 25.25, 1 Nov 60.00, all completed, before the logical time.
    assert rows[1] == (4, Decimal("225.25"), date(2026, 9, 15), date(2026, 11, 1), 1, 3, "Electronics", "Champions",
                       Decimal("123.45"))
    assert rows[2][:2] == (1, Decimal("50.50"))  # its cancelled sale does not count
    assert rows[5] == (0, Decimal("0.00"), None, None, None, 0, None, None, None)  # no sales, no segment


def test_customer_360_counts_the_product_events_tied_to_each_customer(built):
    with built.get_client() as wh:
        engagement = wh.rows("SELECT customer_id, product_events_30d, product_sessions_30d,"
                             " toString(last_product_event_time) FROM customer_360 ORDER BY customer_id")
    assert engagement == [(1, 3, 2, "2026-11-01 20:00:00.000"), (2, 0, 0, None), (3, 0, 0, None), (4, 0, 0, None),
                          (5, 0, 0, None)]


def test_cohorts_equal_pandas(built):
    frame = pd.DataFrame(SALES, columns=["sale_id", "day", "customer", "segment", "region", "category", "qty", "net",
                                         "status"])
    frame = frame[frame.status == "COMPLETED"].assign(month=lambda f: pd.to_datetime(f.day).dt.to_period("M"),
                                                      net=lambda f: f.net.map(Decimal))
    first = frame.groupby("customer").month.min().rename("cohort")
    frame = frame.join(first, on="customer")
    frame["since"] = (frame.month - frame.cohort).apply(lambda d: d.n)
    sizes = first.value_counts()
    expected = sorted(
        (cohort.to_timestamp().date(), since, int(sizes[cohort]), g.customer.nunique(),
         g.customer.nunique() / sizes[cohort], sum(g.net))
        for (cohort, since), g in frame.groupby(["cohort", "since"]))
    with built.get_client() as wh:
        got = wh.rows("SELECT cohort_month, months_since_first, cohort_size, active_customers, retention_rate, revenue"
                      " FROM customer_cohort_retention ORDER BY cohort_month, months_since_first")
        curve = wh.rows("SELECT months_since_first, cumulative_revenue_per_customer FROM customer_revenue_cohorts"
                        " WHERE cohort_month = '2026-09-01' ORDER BY months_since_first")
    assert [tuple(r) for r in got] == [(c, s, n, a, pytest.approx(r), v) for c, s, n, a, r, v in expected]
    assert curve == [(0, Decimal("40.00")), (1, Decimal("165.25")), (2, Decimal("225.25"))]


def test_customer_360_builds_before_the_first_segmentation_with_null_segments(pg_dsn, clickhouse):
    """The hourly refresh reaches customer_360 before the daily segmentation of a new deployment:
    it builds, segment columns NULL and typed as they will be, and says why."""
    from datetime import datetime, timezone

    import dagster as dg

    from analytics_assets.customer360.assets import customer_360
    from analytics_assets.demo import generator
    from analytics_assets.logical_time import AS_OF_TAG
    from analytics_assets.resources import PostgresResource
    from analytics_assets_tests.sales.conftest import ALL, run_pipeline

    as_of = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
    generator.generate(pg_dsn, customers=200, products=20, sales=1500, seed=3, as_of=as_of)
    pg = PostgresResource(dsn=pg_dsn)
    run_pipeline(pg, clickhouse, as_of, selection=["raw_customers", "raw_products", "raw_sales", "sales_fact"])
    result = dg.materialize([*ALL, customer_360], resources={"postgres": pg, "clickhouse": clickhouse},
                            selection=["customer_360"], tags={AS_OF_TAG: as_of.isoformat()})
    note = result.asset_materializations_for_node("customer_360")[0].metadata["note"].value
    assert note == ("customer_segments does not exist yet (run customer_segmentation_job): its columns are NULL "
                    "in this version")
    with clickhouse.get_client() as wh:
        assert wh.scalar("SELECT count() FROM customer_360") == 200
        assert wh.scalar("SELECT countIf(rfm_segment IS NOT NULL) + countIf(model_clv_3y IS NOT NULL)"
                         " FROM customer_360") == 0
        assert not wh.table_exists("customer_segments")  # nothing stands in for it after the build
        types = dict(wh.rows("SELECT name, type FROM system.columns WHERE database = {db:String}"
                             " AND table = 'customer_360'", {"db": wh.database}))
    assert types["rfm_segment"] == "LowCardinality(Nullable(String))" and types["r_score"] == "Nullable(UInt8)"
