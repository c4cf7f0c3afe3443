"""A refresh never shows an empty or partial mart, a failure keeps the old one, reruns are identical."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from analytics_assets.demo import generator
from analytics_assets.resources import PostgresResource
from analytics_assets.sales.assets import mart_assets
from analytics_assets.sales.marts import MARTS
from analytics_assets.warehouse import sql_table_asset
from analytics_assets.warehouse.sql import load_sql as real_load_sql
from analytics_assets.warehouse.sql import sql_file as real_sql_file
from analytics_assets_tests.sales.conftest import materializations

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
MART_NAMES = [m.name for m in MARTS]


@pytest.fixture
def built(pg_dsn, clickhouse, run):
    generator.generate(pg_dsn, customers=800, products=80, sales=15000, seed=3, as_of=AS_OF, dirty=True)
    pg = PostgresResource(dsn=pg_dsn)
    assert run(pg, clickhouse, AS_OF).success
    return pg


def snapshot(wh, table: str) -> list[tuple]:
    return sorted(map(tuple, wh.rows(f"SELECT * FROM {table}")), key=repr)


def test_two_refreshes_give_identical_tables(built, clickhouse, run):
    with clickhouse.get_client() as wh:
        first = {name: snapshot(wh, name) for name in [*MART_NAMES, "sales_fact"]}
    assert run(built, clickhouse, AS_OF).success
    with clickhouse.get_client() as wh:
        second = {name: snapshot(wh, name) for name in [*MART_NAMES, "sales_fact"]}
        leftovers = wh.scalar("SELECT count() FROM system.tables WHERE database = 'analytics' AND name LIKE '\\_%'")
    assert first == second
    assert all(first[name] for name in MART_NAMES)
    assert leftovers == 0


def test_readers_never_see_an_empty_or_partial_mart(built, clickhouse, run):
    """Refresh with alternating logical times while another thread reads: every read is one of
    the complete versions."""
    other = AS_OF - timedelta(days=1)
    expected = {}
    for as_of in (other, AS_OF):
        run(built, clickhouse, as_of, selection=["dashboard_daily_metrics"])
        with clickhouse.get_client() as wh:
            expected[as_of] = wh.rows("SELECT count(), sum(net_revenue) FROM dashboard_daily_metrics")[0]
    assert expected[other] != expected[AS_OF]

    seen, errors, stop = set(), [], threading.Event()

    def read() -> None:
        with clickhouse.get_client() as wh:
            while not stop.is_set():
                try:
                    seen.add(wh.rows("SELECT count(), sum(net_revenue) FROM dashboard_daily_metrics")[0])
                except Exception as exc:  # a missing table would land here
                    errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(6):
            run(built, clickhouse, (other, AS_OF)[i % 2], selection=["dashboard_daily_metrics"])
    finally:
        stop.set()
        reader.join()
    assert not errors
    assert seen and seen <= set(expected.values()), seen - set(expected.values())


def _patched_sql(monkeypatch, mart: str, transform) -> None:
    def load_sql(path):
        text = real_load_sql(path)
        return transform(text) if path.stem == mart else text

    monkeypatch.setattr(sql_table_asset, "load_sql", load_sql)


def test_a_failure_mid_refresh_leaves_the_old_mart(built, clickhouse, run, monkeypatch):
    with clickhouse.get_client() as wh:
        before = snapshot(wh, "dashboard_regional_breakdown")
    _patched_sql(monkeypatch, "dashboard_regional_breakdown", lambda sql: sql.replace(
        "FROM sales_fact",
        "FROM (SELECT * FROM sales_fact WHERE throwIf(sale_id % 997 = 0, 'injected failure') = 0)",
    ))
    result = run(built, clickhouse, AS_OF - timedelta(days=3), selection=["dashboard_regional_breakdown"],
                 raise_on_error=False)
    assert not result.success
    with clickhouse.get_client() as wh:
        assert snapshot(wh, "dashboard_regional_breakdown") == before
        assert wh.scalar("SELECT count() FROM system.tables WHERE name LIKE '\\_staging\\_%'") == 0


def test_a_failing_gate_stops_the_swap_and_is_recorded(built, clickhouse, run, monkeypatch):
    with clickhouse.get_client() as wh:
        before = snapshot(wh, "dashboard_daily_metrics")
    # Count every day's revenue twice: the matches_sales_fact gate must refuse the new version.
    _patched_sql(monkeypatch, "dashboard_daily_metrics", lambda sql: sql.replace(
        "    net_revenue,\n", "    net_revenue * 2 AS net_revenue,\n"))
    result = run(built, clickhouse, AS_OF - timedelta(days=2), selection=["dashboard_daily_metrics"],
                 raise_on_error=False)
    assert not result.success
    evaluations = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
                   for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert evaluations["unique_key"].passed
    assert not evaluations["matches_sales_fact"].passed
    assert evaluations["matches_sales_fact"].severity == dg.AssetCheckSeverity.ERROR
    with clickhouse.get_client() as wh:
        assert snapshot(wh, "dashboard_daily_metrics") == before


def test_marts_carry_their_window_and_a_preview(built, clickhouse, run):
    result = run(built, clickhouse, AS_OF, selection=["dashboard_top_customers"])
    (materialization,) = materializations(result, "dashboard_top_customers")
    metadata = materialization.metadata
    assert metadata["dagster/row_count"].value == 100
    assert metadata["window"].value == "[2026-04-01, 2026-06-30T12:00:00+00:00)"
    assert metadata["preview"].value.startswith("| rank | customer_id |")
    # the columns as built (system.columns, COMMENTs included) are those the definition declares
    (marts,) = mart_assets  # the marts' one step
    assert metadata["dagster/column_schema"].value == marts.specs_by_key[dg.AssetKey("dashboard_top_customers")].metadata[
        "dagster/column_schema"]


def test_top_n_ranks_more_customers_than_a_uint16_holds(clickhouse, run, pg_dsn):
    """Found at 10M sales by the at_most_100_sorted gate: row_number() past 65,535 wrapped."""
    from analytics_assets.sales import fact
    from analytics_assets.warehouse.sql import render_sql

    with clickhouse.get_client() as wh:
        wh.command(render_sql(real_sql_file(fact.__file__, "sales_fact_table"), target="sales_fact"))
        wh.command("""
            INSERT INTO sales_fact (sale_id, sale_day, sale_date, customer_id, product_id, quantity,
                total_amount, discount_amount, net_amount, status, customer_found, product_found, updated_at)
            SELECT number, toDate32('2026-06-01'), toDateTime64('2026-06-01 10:00:00', 6, 'UTC'), number, 1, 1,
                toDecimal64(number % 1000, 2), 0, toDecimal64(number % 1000, 2), 'COMPLETED', 1, 1, now64(6)
            FROM numbers(70000)
        """)
    result = run(PostgresResource(dsn=pg_dsn), clickhouse, AS_OF, selection=["dashboard_top_customers"])
    assert result.success
    with clickhouse.get_client() as wh:
        top = wh.rows("SELECT rank, customer_id FROM dashboard_top_customers ORDER BY rank LIMIT 3")
    assert top == [(1, 999), (2, 1999), (3, 2999)]
