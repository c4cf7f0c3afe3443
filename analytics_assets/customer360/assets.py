"""Customer 360 (refreshed for the customers that changed: incremental.py) and sales cohorts (one `.sql` file
each): built aside, gated, swapped in."""

import time
from pathlib import Path

import dagster as dg

from analytics_assets import settings
from analytics_assets.events.load import EVENTS
from analytics_assets.customer360.incremental import SALES_DAYS, TABLE, Refresh, refresh_customer_360
from analytics_assets.events.load import ensure_tables as ensure_event_tables
from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.sales.marts import HOURLY_STALE_AFTER
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.warehouse.columns import table_metadata
from analytics_assets.warehouse.sql import sql_fragment
from analytics_assets.warehouse.sql_table_asset import (
    Gate,
    OptionalSource,
    SqlTable,
    build_sql_table_asset,
    gate_check_specs,
    gated,
    optional_sources,
    run_gates,
    unique_key,
)
from analytics_assets.warehouse.tables import markdown_preview

CUSTOMER360_GROUP = "customer360"
HERE = Path(__file__).parent
COMPLETED_BEFORE_AS_OF = sql_fragment("sales/completed_sale_before_as_of")

SEGMENTS_SOURCE = OptionalSource(
    "customer_segments",
    # customer_segments' own types: customer_360's columns keep one type either way.
    "(customer_id Int64, r_score UInt8, f_score UInt8, m_score UInt8, rfm_segment LowCardinality(String),"
    " behavior_segment LowCardinality(String), clv_segment LowCardinality(String),"
    " probability_alive Nullable(Float64), expected_purchases_3y Nullable(Float64),"
    " model_clv_3y Nullable(Decimal(18, 2)))",
    "customer_segmentation_job")
CUSTOMER_360_GATES = (
    unique_key("customer_id"),
    Gate("one_row_per_known_customer", "Exactly the live customers of the replica.",
         "SELECT abs(toInt64(count()) - toInt64((SELECT count() FROM raw_customers FINAL WHERE NOT _is_deleted))),"
         " concat(toString(count()), ' rows') FROM $target"),
    # sales_fact's completed sales per day are kept (customer_360_sales_days, read from the fact for
    # the days each refresh touched): the days before the logical one from there, that day from the fact.
    Gate("reconciles_with_sales_fact", "Lifetime orders and net revenue add up to sales_fact's completed sales.",
         f"""
         SELECT (sum(lifetime_orders) != s.orders) + (sum(lifetime_net_revenue) != s.revenue),
                concat('customer_360 ', toString(sum(lifetime_net_revenue)), ', sales_fact ', toString(s.revenue))
         FROM $target,
              (SELECT d.orders + t.orders AS orders, d.revenue + t.revenue AS revenue
               FROM (SELECT sum(orders) AS orders, sum(net_revenue) AS revenue FROM {SALES_DAYS} FINAL
                     WHERE sale_day < {{as_of_date:Date32}}) AS d,
                    (SELECT count() AS orders, ifNull(sum(net_amount), 0) AS revenue FROM sales_fact
                     WHERE sale_day >= {{as_of_date:Date32}} AND {COMPLETED_BEFORE_AS_OF} AND customer_found) AS t
              ) AS s
         GROUP BY s.orders, s.revenue
         """),
)


class Customer360Config(dg.Config):
    full_rebuild: bool = False  # build everything from sales_fact instead of the customers that changed


@dg.asset(
    name=TABLE,
    group_name=CUSTOMER360_GROUP,
    deps=["raw_customers", SALES_FACT, "customer_segments", EVENTS],
    kinds={"clickhouse"},
    pool=clickhouse_pool(),
    description="One row per known customer: profile, lifetime and 30/365-day sales, favourite category, "
    "RFM, behaviour and CLV segments, product engagement (events tied to the customer). Hourly, only the "
    "customers whose sales, profile, windows or events changed are recomputed. Replaced atomically; gates run "
    "on the new version before the swap.",
    check_specs=gate_check_specs(TABLE, CUSTOMER_360_GATES),
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=HOURLY_STALE_AFTER),
    metadata=table_metadata(HERE / f"{TABLE}.sql", (__file__, 1), (str(HERE / "incremental.py"), 1)),
)
def customer_360(context: dg.AssetExecutionContext, config: Customer360Config, clickhouse: ClickHouseResource):
    started = time.monotonic()
    as_of = resolve_as_of(context)
    params = {"as_of": as_of, "as_of_date": as_of.date()}
    results: list[dg.AssetCheckResult] = []
    refreshed: list[Refresh] = []
    with clickhouse.get_client() as wh:
        ensure_event_tables(wh, settings.EVENTS.ttl_days())  # no event file has landed yet
        # Built hourly, the segments daily: the first hourly runs of a new deployment come before them.
        with optional_sources(wh, (SEGMENTS_SOURCE,), context.log) as (sources, notes):
            # a missing source names its job; a part-applied one keeps ours
            require_complete(wh, [d for d in ("raw_customers", SALES_FACT, "customer_segments", EVENTS)
                                  if sources.get(d, d) == d])
            yield from gated(TABLE, results, lambda: refreshed.append(refresh_customer_360(
                wh, params, sources["customer_segments"], full_rebuild=config.full_rebuild,
                gates=lambda staging: run_gates(wh, CUSTOMER_360_GATES, staging, params, results))))
        rows = wh.row_count(TABLE)
        preview = markdown_preview(wh, TABLE)
    (refresh,) = refreshed
    metadata = {
        "dagster/row_count": rows,
        "as_of": as_of.isoformat(),
        "build": "full" if refresh.full else "incremental",
        "customers_recomputed": refresh.customers_recomputed,
        "sales_read": refresh.changed_sales,
        "duration_s": round(time.monotonic() - started, 3),
        "preview": dg.MetadataValue.md(preview),
    }
    if refresh.reason:
        metadata["full_build_reason"] = refresh.reason
    if notes:
        metadata["note"] = "; ".join(notes)
    yield dg.MaterializeResult(metadata=metadata, check_results=results)


customer_cohort_retention = build_sql_table_asset(SqlTable(
    name="customer_cohort_retention",
    description="Monthly cohorts by first purchase: active customers, retention rate and revenue by month since.",
    sql_dir=HERE, group=CUSTOMER360_GROUP, deps=(SALES_FACT,),
    gates=(
        unique_key("cohort_month", "months_since_first"),
        Gate("month_zero_is_everyone", "In its first month every cohort customer is active (rate 1).",
             "SELECT countIf(months_since_first = 0 AND active_customers != cohort_size), '' FROM $target"),
    ),
))

customer_revenue_cohorts = build_sql_table_asset(SqlTable(
    name="customer_revenue_cohorts",
    description="The same cohorts by revenue: per customer, cumulative, and against the first month.",
    sql_dir=HERE, group=CUSTOMER360_GROUP, deps=("customer_cohort_retention",),
    gates=(unique_key("cohort_month", "months_since_first"),),
))

customer360_assets = [customer_360, customer_cohort_retention, customer_revenue_cohorts]
