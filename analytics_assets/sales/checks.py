"""Checks on sales_fact: it reconciles with the replicas (a gate), and source anomalies (warnings)."""

from datetime import datetime, timedelta, timezone

import dagster as dg

from analytics_assets.ingest.replicate import utc
from analytics_assets.ingest.sources import SALES
from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.sales.fact import TABLE as SALES_FACT
from analytics_assets.sales.fact import stored_marks
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.tables import replace_table

SAMPLE = 5


VERIFIED = "sales_fact_verified"
# A full comparison at least this often, whatever the incremental ones said.
FULL_EVERY = timedelta(hours=24)
COMPARED = ("SELECT count(), sum({net}), groupBitXor(cityHash64(sale_id, updated_at)) FROM {table}{where}")


def _totals(wh, table: str, net: str, where: str = "", params=None) -> tuple:
    return tuple(wh.rows(COMPARED.format(net=net, table=table, where=where), params)[0])


@dg.asset_check(
    asset=SALES_FACT,
    name="matches_replicas",
    blocking=True,
    pool=clickhouse_pool(),
    description="sales_fact holds exactly the replica's live sales: same count, same net amount, same "
    "versions. Blocking: every mart is computed from it. A full comparison the first time, after a full "
    "build and once a day; in between, the sales whose replica rows arrived since the last comparison that "
    "passed are compared key by key (sales_fact changes only for those), so the hourly cost follows the change.",
)
def sales_fact_matches_replicas(clickhouse: ClickHouseResource) -> dg.AssetCheckResult:
    with clickhouse.get_client() as wh:
        fact_uuid = wh.table_uuid(SALES_FACT)
        applied = stored_marks(wh).get(SALES.replica, (None, None))[1]
        verified = (wh.rows(f"SELECT fact_uuid, synced_through, verified_at FROM {VERIFIED}")
                    if wh.table_exists(VERIFIED) else [])
        now = datetime.now(timezone.utc)
        incremental = (bool(verified) and verified[0][0] == fact_uuid and applied is not None
                       and now - utc(verified[0][2]) < FULL_EVERY)
        if incremental:
            since = utc(verified[0][1]) or datetime(1970, 1, 1, tzinfo=timezone.utc)
            params = {"since": since, "through": applied}
            keys = (" WHERE sale_id IN (SELECT sale_id FROM raw_sales WHERE _synced_at > {since:DateTime64(6, 'UTC')}"
                    " AND _synced_at <= {through:DateTime64(6, 'UTC')})")
            fact = _totals(wh, SALES_FACT, "net_amount", keys, params)
            replica = _totals(wh, "raw_sales FINAL", "total_amount - discount_amount", keys, params)
        else:
            fact = _totals(wh, SALES_FACT, "net_amount")
            replica = _totals(wh, "raw_sales FINAL", "total_amount - discount_amount")
        passed = fact == replica
        if passed:
            def build(staging: str) -> None:
                wh.command(f"CREATE TABLE {quote_identifier(staging)} (fact_uuid String,"
                           " synced_through Nullable(DateTime64(6, 'UTC')), verified_at DateTime64(6, 'UTC'))"
                           " ENGINE = MergeTree ORDER BY tuple()")
                wh.insert_rows(staging, [(fact_uuid, applied, now)], ["fact_uuid", "synced_through", "verified_at"])

            replace_table(wh, VERIFIED, build)
    return dg.AssetCheckResult(
        passed=passed,
        metadata={"compared": "sales changed since the last comparison" if incremental else "every sale",
                  "fact_rows": fact[0], "replica_rows": replica[0],
                  "fact_net_amount": str(fact[1]), "replica_net_amount": str(replica[1])},
    )


# Row-level anomalies: sales_fact.sql lists each row's in its `anomalies` column.
ROW_ANOMALIES = ("negative_quantity", "discount_above_total", "null_sale_date", "null_status", "null_amount",
                 "implausible_sale_date")
# Anomalies that depend on the logical time or on other tables, counted here.
OTHER_ANOMALIES = {
    "future_sale_date": "sale_day >= toDate32({as_of:DateTime64(6, 'UTC')}) AND sale_date >= {as_of:DateTime64(6, 'UTC')}",
    "orphan_customer": "NOT customer_found",
    "orphan_product": "NOT product_found",
}
ANOMALIES = (*ROW_ANOMALIES[:5], "future_sale_date", "implausible_sale_date", "orphan_customer", "orphan_product")


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
    found = {}
    with clickhouse.get_client() as wh:
        # Only the rows flagged at build time (their array is not empty), then the sales dated at or
        # after the logical time (a range of the sorting key), then the two one-byte found flags.
        row = wh.rows("SELECT " + ", ".join(
            f"countIf(has(anomalies, {{a{i}:String}})), groupArrayIf({SAMPLE})(sale_id, has(anomalies, {{a{i}:String}}))"
            for i in range(len(ROW_ANOMALIES))) + " FROM sales_fact WHERE notEmpty(anomalies)",
            {f"a{i}": name for i, name in enumerate(ROW_ANOMALIES)})[0]
        for i, name in enumerate(ROW_ANOMALIES):
            found[name] = (int(row[2 * i]), list(row[2 * i + 1]))
        for name, condition in OTHER_ANOMALIES.items():
            (count, sample), = wh.rows(f"SELECT count(), groupArray({SAMPLE})(sale_id) FROM sales_fact"
                                       f" WHERE {condition}", {"as_of": as_of})
            found[name] = (int(count), list(sample))
    metadata = {}
    for name in ANOMALIES:
        metadata[name] = found[name][0]
        metadata[f"{name}_sample_sale_ids"] = dg.MetadataValue.json(found[name][1])
    return dg.AssetCheckResult(
        passed=all(count == 0 for count, _ in found.values()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"as_of": as_of.isoformat(), **metadata},
    )


sales_checks = [sales_fact_matches_replicas, sales_fact_source_anomalies]
