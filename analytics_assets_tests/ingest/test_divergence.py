"""No silent divergence from the source (issue 19): source data as real applications produce it.

Each case runs the pipeline on the real PostgreSQL and chDB, changes the source the way a bad
clock, a hand-made fix, an unconstrained numeric or a dropped primary key does, and requires the
next run (hourly, or the daily reconcile where stated) to leave the replicas, `sales_fact` and
`dashboard_daily_metrics` equal to the source, with the check naming the keys."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import dagster as dg
import pytest

from analytics_assets.demo import generator
from analytics_assets.ingest.replicate import replicate, watermark
from analytics_assets.ingest.sources import SALES, SOURCE_TABLES
from analytics_assets.resources import PostgresResource
from analytics_assets_tests.ingest.conftest import AS_OF, assert_replicas_equal_source, execute
from analytics_assets_tests.sales.conftest import run_pipeline

HOURLY = ["raw_customers", "raw_products", "raw_sales", "sales_fact", "dashboard_daily_metrics"]
RECONCILE = {"ops": {t.replica: {"config": {"reconcile": True}} for t in SOURCE_TABLES}}


def checks(result: dg.ExecuteInProcessResult) -> dict:
    return {f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:{e.asset_check_evaluation_data.check_name}":
            e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def meta(evaluation, key):
    return evaluation.metadata[key].value


def run(pg, clickhouse, *, reconcile=False, raise_on_error=True) -> dg.ExecuteInProcessResult:
    return run_pipeline(pg, clickhouse, AS_OF, selection=HOURLY, run_config=RECONCILE if reconcile else None,
                        raise_on_error=raise_on_error)


@pytest.fixture
def pg(pg_dsn) -> PostgresResource:
    generator.generate(pg_dsn, customers=300, products=40, sales=3000, seed=5, as_of=AS_OF)
    return PostgresResource(dsn=pg_dsn)


def recent_completed_sales(pg, n: int) -> list[int]:
    """Completed sales inside the daily mart's window, with a known customer and product."""
    with pg.connect() as conn:
        return [r[0] for r in conn.execute(
            "SELECT sale_id FROM sales JOIN customers USING (customer_id) JOIN products USING (product_id)"
            " WHERE status = 'COMPLETED' AND sale_date >= %s::date - 6 AND sale_date < %s ORDER BY sale_id LIMIT %s",
            (AS_OF, AS_OF, n)).fetchall()]


def assert_fact_and_mart_equal_source(pg, clickhouse) -> None:
    with pg.connect() as conn:
        sales = conn.execute("SELECT sale_id, status, total_amount, discount_amount FROM sales ORDER BY sale_id").fetchall()
        daily = conn.execute(
            "SELECT (s.sale_date AT TIME ZONE 'UTC')::date, count(*), sum(s.total_amount - s.discount_amount)"
            " FROM sales s JOIN customers USING (customer_id) JOIN products USING (product_id)"
            " WHERE s.status = 'COMPLETED' AND s.sale_date < %s"  # the mart keeps every day
            " GROUP BY 1 ORDER BY 1", (AS_OF,)).fetchall()
    with clickhouse.get_client() as wh:
        fact = wh.rows("SELECT sale_id, status, total_amount, discount_amount FROM sales_fact ORDER BY sale_id")
        mart = wh.rows("SELECT date, total_orders, net_revenue FROM dashboard_daily_metrics ORDER BY date")
    assert [tuple(r) for r in fact] == [tuple(r) for r in sales]
    assert [tuple(r) for r in mart] == [tuple(r) for r in daily]


def test_a_far_future_updated_at_does_not_stop_later_changes(pg, clickhouse):
    run(pg, clickhouse)
    future, refunded = recent_completed_sales(pg, 2)
    execute(pg, "UPDATE sales SET updated_at = '2099-01-01 00:00+00' WHERE sale_id = %s", (future,))
    first = run(pg, clickhouse)
    flagged = checks(first)["raw_sales:flagged_rows"]
    assert not flagged.passed and flagged.severity == dg.AssetCheckSeverity.WARN
    [entry] = meta(flagged, "sample")
    assert entry["key"] == future and "updated_at 2099-01-01 00:00:00+00 is ahead of the source clock" in entry["issues"]
    with clickhouse.get_client() as wh:  # the watermark stays at the source's clock, not 2099
        assert watermark(wh, SALES) < datetime.now(timezone.utc) + timedelta(minutes=1)

    # Ordinary changes afterwards: a new sale and a refund. The next hourly run brings both.
    execute(pg, "INSERT INTO sales SELECT sale_id + 100000, customer_id, product_id, sale_date, quantity, unit_price,"
                " total_amount, discount_amount, tax_amount, status, now() FROM sales WHERE sale_id = %s", (refunded,))
    execute(pg, "UPDATE sales SET status = 'REFUNDED', updated_at = now() WHERE sale_id = %s", (refunded,))
    run(pg, clickhouse)
    with clickhouse.get_client() as wh:
        assert_replicas_equal_source(wh, pg)
        assert wh.scalar("SELECT status FROM sales_fact WHERE sale_id = {s:Int64}", {"s": refunded}) == "REFUNDED"
    assert_fact_and_mart_equal_source(pg, clickhouse)


def test_an_update_dated_backwards_is_found_and_repaired_by_the_daily_reconcile(pg, clickhouse):
    run(pg, clickhouse)
    [sale] = recent_completed_sales(pg, 1)
    # A clock-skewed application server: the change is dated a month before what we hold.
    execute(pg, "UPDATE sales SET status = 'CANCELLED', total_amount = 16099.80,"
                " updated_at = updated_at - interval '30 days' WHERE sale_id = %s", (sale,))
    hourly = checks(run(pg, clickhouse))
    with clickhouse.get_client() as wh:  # the watermark cannot see it...
        assert wh.scalar("SELECT status FROM raw_sales FINAL WHERE sale_id = {s:Int64}", {"s": sale}) == "COMPLETED"
    stale = hourly["raw_sales:matches_source"]  # ...the content check does, naming the sale
    assert not stale.passed and meta(stale, "changed_keys_sample") == [sale] and meta(stale, "difference") == 0

    daily = run(pg, clickhouse, reconcile=True)
    repaired = daily.asset_materializations_for_node("raw_sales")[0].metadata
    assert repaired["rows_repaired"].value == 1 and repaired["repaired_keys_sample"].value == [sale]
    with clickhouse.get_client() as wh:
        assert_replicas_equal_source(wh, pg)
        assert wh.rows("SELECT status, total_amount FROM sales_fact WHERE sale_id = {s:Int64}", {"s": sale}) == [
            ("CANCELLED", Decimal("16099.80"))]
    assert_fact_and_mart_equal_source(pg, clickhouse)


def test_matches_source_compares_content_and_names_the_keys(pg, clickhouse):
    from analytics_assets.ingest.checks import build_matches_source_check

    run(pg, clickhouse)
    check = build_matches_source_check(SALES)
    assert check(postgres=pg, clickhouse=clickhouse).passed
    [sale] = recent_completed_sales(pg, 1)
    # Same key count, same updated_at: only the content differs.
    execute(pg, "UPDATE sales SET quantity = quantity + 1 WHERE sale_id = %s", (sale,))
    execute(pg, "DELETE FROM sales WHERE sale_id = 17")
    result = check(postgres=pg, clickhouse=clickhouse)
    assert not result.passed
    assert meta(result, "changed_keys_sample") == [sale] and meta(result, "gone_keys_sample") == [17]
    assert meta(result, "difference") == 1
    # A change made after the replica's last read is news for the next pull, not a divergence.
    execute(pg, "UPDATE sales SET quantity = quantity + 1, updated_at = now() + interval '1 minute' WHERE sale_id = 18")
    assert meta(check(postgres=pg, clickhouse=clickhouse), "changed_keys_sample") == [sale]


@pytest.mark.parametrize("mode", ["client", "server"])
def test_values_clickhouse_cannot_hold_never_stop_the_feed(pg, clickhouse, mode):
    config = {"ops": {t.replica: {"config": {"transfer_mode": mode}} for t in SOURCE_TABLES}}
    run_pipeline(pg, clickhouse, AS_OF, selection=HOURLY, run_config=config)
    nan, infinite, huge, after = recent_completed_sales(pg, 4)
    # An unconstrained numeric holds NaN, Infinity and any magnitude.
    execute(pg, "ALTER TABLE sales ALTER COLUMN total_amount TYPE numeric, ALTER COLUMN unit_price TYPE numeric,"
                " ALTER COLUMN discount_amount TYPE numeric")
    execute(pg, "UPDATE sales SET total_amount = 'NaN', updated_at = now() WHERE sale_id = %s", (nan,))
    execute(pg, "UPDATE sales SET unit_price = 'Infinity', updated_at = now() WHERE sale_id = %s", (infinite,))
    execute(pg, "UPDATE sales SET discount_amount = 1e20, updated_at = now() WHERE sale_id = %s", (huge,))
    execute(pg, "UPDATE sales SET status = 'REFUNDED', updated_at = now() WHERE sale_id = %s", (after,))
    result = run_pipeline(pg, clickhouse, AS_OF, selection=HOURLY, run_config=config)
    flagged = checks(result)["raw_sales:flagged_rows"]
    assert not flagged.passed and meta(flagged, "flagged_rows") == 3
    assert meta(flagged, "sample") == [
        {"key": k, "issues": text} for k, text in sorted([
            (nan, "total_amount NaN cannot be stored (stored as NULL)"),
            (infinite, "unit_price Infinity cannot be stored (stored as NULL)"),
            (huge, "discount_amount 100000000000000000000 cannot be stored (stored as NULL)")])]
    with clickhouse.get_client() as wh:
        assert wh.rows("SELECT sale_id, total_amount IS NULL, unit_price IS NULL, discount_amount IS NULL"
                       " FROM raw_sales FINAL WHERE sale_id IN {k:Array(Int64)} ORDER BY sale_id",
                       {"k": [nan, infinite, huge]}) == [
            (nan, True, False, False), (infinite, False, True, False), (huge, False, False, True)]
        # The other rows arrive, in the same run and in later ones.
        assert wh.scalar("SELECT status FROM sales_fact WHERE sale_id = {s:Int64}", {"s": after}) == "REFUNDED"
        execute(pg, "UPDATE sales SET status = 'CANCELLED', updated_at = now() WHERE sale_id = %s", (after,))
    run_pipeline(pg, clickhouse, AS_OF, selection=HOURLY, run_config=config)
    with clickhouse.get_client() as wh:
        assert wh.scalar("SELECT status FROM sales_fact WHERE sale_id = {s:Int64}", {"s": after}) == "CANCELLED"
        # Fixed at the source, the flag goes away.
    execute(pg, "UPDATE sales SET total_amount = 10, unit_price = 10, discount_amount = 0, updated_at = now()"
                " WHERE sale_id IN (%s, %s, %s)", (nan, infinite, huge))
    fixed = run_pipeline(pg, clickhouse, AS_OF, selection=HOURLY, run_config=config)
    assert checks(fixed)["raw_sales:flagged_rows"].passed
    with clickhouse.get_client() as wh:
        assert_replicas_equal_source(wh, pg)


def test_null_and_shared_keys_are_quarantined_and_block_the_run(pg, clickhouse):
    run(pg, clickhouse)
    execute(pg, "ALTER TABLE sales DROP CONSTRAINT sales_pkey, ALTER COLUMN sale_id DROP NOT NULL")
    execute(pg, "INSERT INTO sales SELECT NULL, customer_id, product_id, sale_date, quantity, unit_price, total_amount,"
                " discount_amount, tax_amount, status, now() FROM sales WHERE sale_id = 5")
    execute(pg, "INSERT INTO sales SELECT sale_id, customer_id, product_id, sale_date, quantity, unit_price, 1.00,"
                " discount_amount, tax_amount, status, now() FROM sales WHERE sale_id = 6")
    with clickhouse.get_client() as wh:
        before = wh.rows("SELECT * EXCEPT (_synced_at) FROM raw_sales FINAL WHERE sale_id = 6")
    result = run(pg, clickhouse, raise_on_error=False)
    assert not result.success  # the blocking check stops what would publish it
    unique = checks(result)["raw_sales:source_keys_unique"]
    assert not unique.passed and unique.severity == dg.AssetCheckSeverity.ERROR
    assert meta(unique, "null_keys") == 1 and meta(unique, "duplicated_keys_sample") == [{"key": 6, "rows": 2}]
    with clickhouse.get_client() as wh:
        assert wh.rows("SELECT key, reason FROM raw_sales_quarantine ORDER BY key NULLS FIRST, reason") == [
            (None, "sale_id is NULL"), ("6", "sale_id 6 is shared by 2 rows"), ("6", "sale_id 6 is shared by 2 rows")]
        assert wh.scalar("SELECT count() FROM raw_sales WHERE sale_id = 0") == 0  # never key 0
        assert wh.rows("SELECT * EXCEPT (_synced_at) FROM raw_sales FINAL WHERE sale_id = 6") == before
        assert wh.scalar("SELECT count() FROM sales_fact WHERE sale_id = 0") == 0

    # Fixed at the source: the quarantine empties and the run passes.
    execute(pg, "DELETE FROM sales WHERE sale_id IS NULL OR (sale_id = 6 AND total_amount = 1.00)")
    fixed = run(pg, clickhouse)
    assert checks(fixed)["raw_sales:source_keys_unique"].passed
    with clickhouse.get_client() as wh:
        assert wh.row_count("raw_sales_quarantine") == 0
        assert_replicas_equal_source(wh, pg)
    assert_fact_and_mart_equal_source(pg, clickhouse)


def _random_round(pg, rng: random.Random, next_id: list[int]) -> None:
    """Random inserts, updates and deletes, each dated with a random skew of its updated_at."""
    skews = ["now() + interval '1 minute'", "now() - interval '2 hours'", "now() - interval '400 days'",
             "updated_at", "NULL", "'2099-06-01 00:00+00'", "now()"]
    with pg.connect(autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT sale_id FROM sales").fetchall()]
        customers = [r[0] for r in conn.execute("SELECT customer_id FROM customers").fetchall()]
        for sale in rng.sample(ids, 25):
            conn.execute(f"UPDATE sales SET quantity = %s, total_amount = %s, status = %s, updated_at = {rng.choice(skews)}"
                         " WHERE sale_id = %s", (rng.randint(-1, 9), Decimal(rng.randint(0, 99999)) / 100,
                                                 rng.choice(["COMPLETED", "REFUNDED", "CANCELLED"]), sale))
        for sale in rng.sample(ids, 5):
            conn.execute("DELETE FROM sales WHERE sale_id = %s", (sale,))
        for _ in range(15):
            next_id[0] += 1
            conn.execute(f"INSERT INTO sales SELECT %s, customer_id, product_id, sale_date, quantity, unit_price,"
                         f" total_amount, discount_amount, tax_amount, status, {rng.choice(skews)}"
                         " FROM sales WHERE sale_id = %s", (next_id[0], rng.choice(ids)))
        for customer in rng.sample(customers, 5):
            conn.execute(f"UPDATE customers SET region = %s, updated_at = {rng.choice(skews)} WHERE customer_id = %s",
                         (rng.choice(["Europe", "Asia Pacific", None]), customer))


def _contents(wh, pg, table) -> tuple[list, list]:
    """Source and replica rows, a NULL updated_at read as the epoch (the replica's version for it)."""
    names = ", ".join(f'"{c}"' for c in table.column_names[:-1])
    with pg.connect() as conn:
        source = conn.execute(f"SELECT {names}, coalesce(updated_at, 'epoch') FROM {table.name}"
                              f" ORDER BY {table.key}").fetchall()
    replica = wh.rows(f"SELECT {names.replace(chr(34), '`')}, updated_at FROM {table.replica} FINAL"
                      f" WHERE NOT _is_deleted ORDER BY {table.key}")
    def norm(rows):
        return [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in r) for r in rows]
    return norm(source), norm(replica)


@pytest.mark.parametrize("mode, seed", [("client", 1), ("client", 2), ("server", 3)])
def test_random_changes_with_skewed_clocks_converge_after_the_reconcile(pg, clickhouse, mode, seed):
    rng = random.Random(seed)
    next_id = [10_000_000]
    execute(pg, "ALTER TABLE sales ALTER COLUMN updated_at DROP NOT NULL;"
                " ALTER TABLE customers ALTER COLUMN updated_at DROP NOT NULL")
    with clickhouse.get_client() as wh:
        for table in SOURCE_TABLES:
            replicate(wh, pg, table, mode=mode)
        for _ in range(4):  # hourly runs between bursts of skewed changes
            _random_round(pg, rng, next_id)
            for table in SOURCE_TABLES:
                replicate(wh, pg, table, mode=mode)
        results = {t.name: replicate(wh, pg, t, mode=mode, reconcile=True) for t in SOURCE_TABLES}
        assert results["sales"].rows_repaired > 0  # the watermark alone left it diverged
        for table in SOURCE_TABLES:
            source, replica = _contents(wh, pg, table)
            assert replica == source, table.name
        again = replicate(wh, pg, SALES, mode=mode, reconcile=True)  # converged: nothing left to repair
        assert again.rows_repaired == 0 and again.buckets_differing == 0
