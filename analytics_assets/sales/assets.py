"""sales_fact and the dashboard datamarts (group `sales`)."""

import time
from datetime import timedelta

import dagster as dg
from pydantic import Field

from analytics_assets.ingest.sources import CUSTOMERS, PRODUCTS, SALES
from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.sales.fact import refresh_sales_fact
from analytics_assets.sales.marts import MARTS, Mart
from analytics_assets.warehouse import replace_table
from analytics_assets.warehouse.sql import render_sql, sql_file
from analytics_assets.warehouse.tables import markdown_preview

SALES_GROUP = "sales"


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
)
def sales_fact(context: dg.AssetExecutionContext, config: SalesFactConfig,
               clickhouse: ClickHouseResource) -> dg.MaterializeResult:
    with clickhouse.get_client() as wh:
        refresh = refresh_sales_fact(wh, full_rebuild=config.full_rebuild,
                                     lookback=timedelta(minutes=config.lookback_minutes))
        total = wh.row_count(SALES_FACT)
    context.log.info(
        f"sales_fact: {'full build (' + refresh.reason + ')' if refresh.full else 'incremental'}: "
        f"{refresh.new_sales} new, {refresh.changed_sales} changed, {refresh.removed_sales} removed sales, "
        f"{refresh.customers_patched} customers and {refresh.products_patched} products patched, {refresh.seconds} s"
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
        "duration_s": refresh.seconds,
    })


class GateFailed(Exception):
    pass


def build_mart_asset(mart: Mart) -> dg.AssetsDefinition:
    @dg.asset(
        name=mart.name,
        group_name=SALES_GROUP,
        deps=[SALES_FACT],
        kinds={"clickhouse"},
        pool=clickhouse_pool(),
        description=f"{mart.description} Replaced atomically; gates run on the new version before the swap.",
        check_specs=[
            dg.AssetCheckSpec(g.name, asset=mart.name, blocking=True, description=g.description)
            for g in mart.gates
        ],
    )
    def mart_asset(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        started = time.monotonic()
        as_of = resolve_as_of(context)
        params = {"as_of": as_of, "as_of_date": as_of.date()}
        results: list[dg.AssetCheckResult] = []

        def build(staging: str) -> None:
            wh.command(render_sql(sql_file(__file__, mart.name), target=staging), params)

        def gates(staging: str) -> None:
            for gate in mart.gates:
                (failures, detail), = wh.rows(render_sql(gate.sql, target=staging), params)
                results.append(dg.AssetCheckResult(
                    check_name=gate.name, passed=failures == 0,
                    metadata={"failures": int(failures), "detail": detail, "as_of": as_of.isoformat()},
                ))
            if any(not r.passed for r in results):
                raise GateFailed()

        with clickhouse.get_client() as wh:
            try:
                replace_table(wh, mart.name, build, gates)
            except GateFailed:
                failed = [r.check_name for r in results if not r.passed]
                yield from results
                raise dg.Failure(
                    f"{mart.name}: gate(s) {', '.join(failed)} failed; the previous version is kept",
                    allow_retries=False,
                ) from None
            rows = wh.row_count(mart.name)
            preview = markdown_preview(wh, mart.name)
        window_start = (as_of.date() - timedelta(days=mart.window_days) if mart.window_days is not None
                        else as_of.date().replace(month=1, day=1))
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "as_of": as_of.isoformat(),
                "window": f"[{window_start.isoformat()}, {as_of.isoformat()})",
                "duration_s": round(time.monotonic() - started, 3),
                "preview": dg.MetadataValue.md(preview),
            },
            check_results=results,
        )

    return mart_asset


mart_assets = [build_mart_asset(m) for m in MARTS]
