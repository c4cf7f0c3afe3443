"""Checks on sales_fact: it reconciles with the replicas (a gate), and source anomalies (warnings)."""

import dagster as dg

from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.sales.fact import TABLE as SALES_FACT

SAMPLE = 5


@dg.asset_check(
    asset=SALES_FACT,
    name="matches_replicas",
    blocking=True,
    pool=clickhouse_pool(),
    description="sales_fact holds exactly the replica's live sales: same count, same net amount, same "
    "versions. Blocking: every mart is computed from it.",
)
def sales_fact_matches_replicas(clickhouse: ClickHouseResource) -> dg.AssetCheckResult:
    with clickhouse.get_client() as wh:
        (fact_rows, fact_net, fact_hash), = wh.rows(
            "SELECT count(), sum(net_amount), groupBitXor(cityHash64(sale_id, updated_at)) FROM sales_fact")
        (raw_rows, raw_net, raw_hash), = wh.rows(
            "SELECT count(), sum(total_amount - discount_amount), groupBitXor(cityHash64(sale_id, updated_at))"
            " FROM raw_sales FINAL")
    return dg.AssetCheckResult(
        passed=(fact_rows, fact_net, fact_hash) == (raw_rows, raw_net, raw_hash),
        metadata={"fact_rows": fact_rows, "replica_rows": raw_rows,
                  "fact_net_amount": str(fact_net), "replica_net_amount": str(raw_net)},
    )


ANOMALIES = {
    "negative_quantity": "quantity < 0",
    "discount_above_total": "discount_amount > total_amount",
    "null_sale_date": "sale_date IS NULL",
    "null_status": "status IS NULL",
    "null_amount": "total_amount IS NULL OR discount_amount IS NULL",
    "future_sale_date": "sale_date >= {as_of:DateTime64(6, 'UTC')}",
    # the epoch or earlier: a default value or a typo (year 1), not a sale
    "implausible_sale_date": "sale_date <= toDateTime64('1970-01-01 00:00:00', 6, 'UTC')",
    "orphan_customer": "NOT customer_found",
    "orphan_product": "NOT product_found",
}


@dg.asset_check(
    asset=SALES_FACT,
    name="source_anomalies",
    pool=clickhouse_pool(),
    description="Source rows the marts treat by the original Airflow examples' rules but a person should look at: negative "
    "quantities, discounts above the total, missing dates/status/amounts, future or implausible (1970 or "
    "earlier) dates, orphan keys.",
)
def sales_fact_source_anomalies(context: dg.AssetCheckExecutionContext,
                                clickhouse: ClickHouseResource) -> dg.AssetCheckResult:
    as_of = resolve_as_of(context)
    selects = ", ".join(
        f"countIf({cond}), groupArrayIf({SAMPLE})(sale_id, {cond})" for cond in ANOMALIES.values()
    )
    with clickhouse.get_client() as wh:
        (row,) = wh.rows(f"SELECT {selects} FROM sales_fact", {"as_of": as_of})
    metadata = {}
    for i, name in enumerate(ANOMALIES):
        metadata[name] = int(row[2 * i])
        metadata[f"{name}_sample_sale_ids"] = dg.MetadataValue.json(list(row[2 * i + 1]))
    return dg.AssetCheckResult(
        passed=all(row[2 * i] == 0 for i in range(len(ANOMALIES))),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"as_of": as_of.isoformat(), **metadata},
    )


sales_checks = [sales_fact_matches_replicas, sales_fact_source_anomalies]
