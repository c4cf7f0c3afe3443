"""Customer 360 and sales cohorts: one `.sql` file each, built aside, gated, swapped in."""

from pathlib import Path

import dagster as dg

from analytics_assets import settings
from analytics_assets.events.load import EVENTS
from analytics_assets.events.load import ensure_tables as ensure_event_tables
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.sales.marts import HOURLY_STALE_AFTER
from analytics_assets.warehouse.sql_table_asset import (
    Gate,
    OptionalSource,
    SqlTable,
    build_sql_table_asset,
    unique_key,
)

CUSTOMER360_GROUP = "customer360"
HERE = Path(__file__).parent
COMPLETED_BEFORE_AS_OF = "status = 'COMPLETED' AND sale_date < {as_of:DateTime64(6, 'UTC')}"

customer_360 = build_sql_table_asset(SqlTable(
    name="customer_360",
    description="One row per known customer: profile, lifetime and 30/365-day sales, favourite category, "
    "RFM, behaviour and CLV segments, product engagement (events tied to the customer).",
    sql_dir=HERE, group=CUSTOMER360_GROUP, deps=("raw_customers", SALES_FACT, "customer_segments", EVENTS),
    stale_after=HOURLY_STALE_AFTER,
    prepare=lambda wh: ensure_event_tables(wh, settings.events_ttl_days()),  # no event file has landed yet
    # Built hourly, the segments daily: the first hourly runs of a new deployment come before them.
    optional=(OptionalSource(
        "customer_segments",
        # customer_segments' own types: customer_360's columns keep one type either way.
        "(customer_id Int64, r_score UInt8, f_score UInt8, m_score UInt8, rfm_segment LowCardinality(String),"
        " behavior_segment LowCardinality(String), clv_segment LowCardinality(String),"
        " probability_alive Nullable(Float64), expected_purchases_3y Nullable(Float64),"
        " model_clv_3y Nullable(Decimal(18, 2)))",
        "customer_segmentation_job"),),
    gates=(
        unique_key("customer_id"),
        Gate("one_row_per_known_customer", "Exactly the live customers of the replica.",
             "SELECT abs(toInt64(count()) - toInt64((SELECT count() FROM raw_customers FINAL WHERE NOT _is_deleted))),"
             " concat(toString(count()), ' rows') FROM $target"),
        Gate("reconciles_with_sales_fact", "Lifetime orders and net revenue add up to sales_fact's completed sales.",
             f"""
             SELECT (sum(lifetime_orders) != s.orders) + (sum(lifetime_net_revenue) != s.revenue),
                    concat('customer_360 ', toString(sum(lifetime_net_revenue)), ', sales_fact ', toString(s.revenue))
             FROM $target,
                  (SELECT count() AS orders, ifNull(sum(net_amount), 0) AS revenue FROM sales_fact
                   WHERE {COMPLETED_BEFORE_AS_OF} AND customer_found) AS s
             GROUP BY s.orders, s.revenue
             """),
    ),
))

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

customer_360_job = dg.define_asset_job(
    "customer_360_job", selection=dg.AssetSelection.groups(CUSTOMER360_GROUP),
    description="customer_360 and the sales cohorts.")

customer_360_hourly_schedule = dg.ScheduleDefinition(
    name="customer_360_hourly", job=customer_360_job, cron_schedule="20 * * * *", execution_timezone="UTC")
