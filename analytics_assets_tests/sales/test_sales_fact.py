"""sales_fact applies only what changed, and ends up equal to a full rebuild."""

from __future__ import annotations

from datetime import datetime, timezone

from analytics_assets.demo import generator
from analytics_assets.ingest.sources import SOURCE_TABLES
from analytics_assets.resources import PostgresResource
from analytics_assets_tests.ingest.conftest import execute
from analytics_assets_tests.sales.test_marts import snapshot

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
RECONCILE = {"ops": {t.replica: {"config": {"reconcile_deletes": True}} for t in SOURCE_TABLES}}


def daily_snapshot(wh) -> list[tuple]:
    """sales_fact_daily as readers see it (FINAL), without its version columns."""
    return sorted(map(tuple, wh.rows("SELECT * EXCEPT (_version, _is_deleted) FROM sales_fact_daily FINAL")), key=repr)


def fact_metadata(result) -> dict:
    (materialization,) = result.asset_materializations_for_node("sales_fact")
    return {k: v.value for k, v in materialization.metadata.items()}


def test_incremental_refresh_equals_a_full_rebuild(pg_dsn, clickhouse, run):
    generator.generate(pg_dsn, customers=800, products=80, sales=15000, seed=4, as_of=AS_OF, dirty=True)
    pg = PostgresResource(dsn=pg_dsn)
    first = fact_metadata(run(pg, clickhouse, AS_OF))
    assert first["full_build"] and first["full_build_reason"] == "table missing"
    assert first["new_sales"] == 15000

    activity = generator.apply_activity(pg_dsn, seed=9)
    with pg.connect() as conn:
        (old_sale,) = conn.execute("SELECT sale_id FROM sales WHERE sale_date < '2025-01-01' AND customer_id = 5"
                                   " ORDER BY sale_id LIMIT 1").fetchone()
    execute(pg, "UPDATE sales SET sale_date = '2024-09-15 10:00+00', updated_at = now() WHERE sale_id = %s",
            (old_sale,))
    execute(pg, "UPDATE customers SET region = 'Middle East & Africa', updated_at = now() WHERE customer_id = 5")
    execute(pg, "UPDATE products SET category = 'Garden', updated_at = now() WHERE product_id = 7")
    execute(pg, "DELETE FROM sales WHERE sale_id = 77")
    second = fact_metadata(run(pg, clickhouse, AS_OF, run_config=RECONCILE))
    assert not second["full_build"]
    assert second["new_sales"] == activity.new_sales
    assert second["removed_sales"] == 2  # sale 77, and the moved sale from its old day (then inserted again)
    assert second["changed_sales"] >= activity.status_changes
    assert second["customers_patched"] >= 1 and second["products_patched"] >= 1

    assert 0 < second["days_refreshed"] < first["days_refreshed"]
    with clickhouse.get_client() as wh:
        incremental = snapshot(wh, "sales_fact")
        incremental_daily = daily_snapshot(wh)
        assert wh.scalar("SELECT count() FROM sales_fact WHERE sale_id = 77") == 0
        assert wh.rows("SELECT DISTINCT region FROM sales_fact WHERE customer_id = 5") == [("Middle East & Africa",)]
        assert wh.rows("SELECT DISTINCT category FROM sales_fact WHERE product_id = 7") == [("Garden",)]
        assert wh.scalar("SELECT toString(sale_day) FROM sales_fact WHERE sale_id = {s:Int64}",
                         {"s": old_sale}) == "2024-09-15"
    full = fact_metadata(run(pg, clickhouse, AS_OF, selection=["sales_fact"],
                             run_config={"ops": {"sales_fact": {"config": {"full_rebuild": True}}}}))
    assert full["full_build"] and full["full_build_reason"] == "requested"
    with clickhouse.get_client() as wh:
        assert snapshot(wh, "sales_fact") == incremental
        # The per-day pre-aggregate kept for the touched days equals one computed from scratch.
        assert daily_snapshot(wh) == incremental_daily
        assert len(incremental_daily) == wh.scalar(
            "SELECT uniqExact(sale_day) FROM sales_fact WHERE status = 'COMPLETED' AND sale_date IS NOT NULL")


def test_nothing_changed_changes_nothing(pg_dsn, clickhouse, run):
    generator.generate(pg_dsn, customers=300, products=40, sales=4000, seed=4, as_of=AS_OF)
    pg = PostgresResource(dsn=pg_dsn)
    run(pg, clickhouse, AS_OF)
    with clickhouse.get_client() as wh:
        before = snapshot(wh, "sales_fact")
    again = fact_metadata(run(pg, clickhouse, AS_OF, selection=["sales_fact"]))
    assert not again["full_build"]
    assert again["new_sales"] == 0 and again["removed_sales"] == 0
    with clickhouse.get_client() as wh:
        assert snapshot(wh, "sales_fact") == before


def test_a_refresh_that_fails_half_way_is_applied_whole_next_time(pg_dsn, clickhouse, run, monkeypatch):
    generator.generate(pg_dsn, customers=300, products=40, sales=4000, seed=6, as_of=AS_OF)
    pg = PostgresResource(dsn=pg_dsn)
    run(pg, clickhouse, AS_OF)
    generator.apply_activity(pg_dsn, seed=3)
    execute(pg, "UPDATE customers SET region = 'Antarctica', updated_at = now() WHERE customer_id = 9")

    from analytics_assets.sales import fact

    def fail(*args, **kwargs):
        raise RuntimeError("injected: the process died after applying the sales")

    monkeypatch.setattr(fact, "_patch_attributes", fail)
    assert not run(pg, clickhouse, AS_OF, raise_on_error=False).success
    monkeypatch.undo()

    again = fact_metadata(run(pg, clickhouse, AS_OF))
    assert not again["full_build"] and again["customers_patched"] >= 1
    with clickhouse.get_client() as wh:
        incremental = snapshot(wh, "sales_fact")
        assert wh.rows("SELECT DISTINCT region FROM sales_fact WHERE customer_id = 9") == [("Antarctica",)]
    run(pg, clickhouse, AS_OF, selection=["sales_fact"],
        run_config={"ops": {"sales_fact": {"config": {"full_rebuild": True}}}})
    with clickhouse.get_client() as wh:
        assert snapshot(wh, "sales_fact") == incremental


def test_a_replica_resync_rebuilds_the_fact(pg_dsn, clickhouse, run):
    generator.generate(pg_dsn, customers=300, products=40, sales=4000, seed=6, as_of=AS_OF)
    pg = PostgresResource(dsn=pg_dsn)
    run(pg, clickhouse, AS_OF)
    execute(pg, "DELETE FROM sales WHERE sale_id <= 10")  # no tombstones: a resync just drops them
    result = run(pg, clickhouse, AS_OF, run_config={"ops": {"raw_sales": {"config": {"full_resync": True}}}})
    meta = fact_metadata(result)
    assert meta["full_build"] and meta["full_build_reason"] == "replica rebuilt: raw_sales"
    assert meta["dagster/row_count"] == 3990
