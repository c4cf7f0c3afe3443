"""sales_fact and the dashboard datamarts (group `sales`)."""

from datetime import timedelta
from pathlib import Path

import dagster as dg
from pydantic import Field

from analytics_assets.ingest.sources import CUSTOMERS, PRODUCTS, SALES
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.sales.fact import REPLICAS, refresh_sales_fact
from analytics_assets.sales import fact as fact_module
from analytics_assets.warehouse.columns import table_metadata
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.sales.marts import MARTS, SALES_GROUP, sales_by_day
from analytics_assets.warehouse.sql_table_asset import build_sql_tables_asset


class SalesFactConfig(dg.Config):
    full_rebuild: bool = Field(default=False, description="rebuild every month, not only the changed ones")
    lookback_minutes: int = Field(
        default=0, ge=0,
        description="also re-apply rows synced this long before the last refresh's marks (a safety knob: "
        "ingest runs of one replica never overlap, so nothing can arrive behind the marks)",
    )


@dg.asset(
    name=SALES_FACT,
    group_name=SALES_GROUP,
    deps=[SALES.replica, CUSTOMERS.replica, PRODUCTS.replica],
    kinds={"clickhouse"},
    # Two refreshes must not interleave their steps; against a server there is no chDB pool.
    pool=clickhouse_pool() or "sales_fact",
    description="Every sale with its customer's and product's attributes and net_amount; partitioned by "
    "month, sorted by day. Refreshed by applying only what changed since the newest version it holds.",
    metadata=table_metadata(Path(fact_module.__file__).with_name("sales_fact_table.sql"), fact_module.__file__),
)
def sales_fact(context: dg.AssetExecutionContext, config: SalesFactConfig,
               clickhouse: ClickHouseResource) -> dg.MaterializeResult:
    with clickhouse.get_client() as wh:
        require_complete(wh, REPLICAS)  # a replica never ingested: name it and ingest_job
        refresh = refresh_sales_fact(wh, full_rebuild=config.full_rebuild,
                                     lookback=timedelta(minutes=config.lookback_minutes))
        total = wh.row_count(SALES_FACT)
    context.log.info(
        f"sales_fact: {'full build (' + refresh.reason + ')' if refresh.full else 'incremental'}: "
        f"{refresh.new_sales} new, {refresh.changed_sales} changed, {refresh.removed_sales} removed sales, "
        f"{refresh.customers_patched} customers and {refresh.products_patched} products patched, "
        f"{refresh.days_refreshed} days of sales_fact_daily recomputed, {refresh.seconds} s"
    )
    return dg.MaterializeResult(metadata={
        "dagster/row_count": total,
        "full_build": refresh.full,
        "full_build_reason": refresh.reason or "",
        "new_sales": refresh.new_sales,
        "changed_sales": refresh.changed_sales,
        "removed_sales": refresh.removed_sales,
        "customers_patched": refresh.customers_patched,
        "products_patched": refresh.products_patched,
        "days_refreshed": refresh.days_refreshed,  # sales_fact_daily's days recomputed
        "duration_s": refresh.seconds,
    })


dashboard_marts = build_sql_tables_asset(
    "dashboard_marts", MARTS, scratch=sales_by_day,
    description="The dashboard datamarts, built in one step (any subset can be selected): each built aside, "
    "gated and swapped in; the day-grained ones read sales_fact_daily, the others sales_fact's window.")
mart_assets = [dashboard_marts]
