"""Data-quality gates on the replicas. Blocking only where downstream results would be wrong."""

import dagster as dg
from psycopg import sql

from analytics_assets.ingest.replicate import watermark
from analytics_assets.ingest.sources import CUSTOMERS, PRODUCTS, SALES, SOURCE_TABLES, VERSION_COLUMN, SourceTable
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.warehouse.identifiers import quote_identifier

SAMPLE_SIZE = 10


def build_matches_source_check(table: SourceTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table.replica,
        name="matches_source",
        pool=clickhouse_pool(),
        description="Live replica rows equal the source's rows at the watermark (rows changed since are "
        "excluded on both sides). A difference means unreconciled hard deletes or missed rows.",
    )
    def matches_source(postgres: PostgresResource, clickhouse: ClickHouseResource) -> dg.AssetCheckResult:
        with clickhouse.get_client() as wh:
            mark = watermark(wh, table)
            replica_rows = int(wh.scalar(
                f"SELECT count() FROM {quote_identifier(table.replica)} FINAL"
                f" WHERE {quote_identifier(VERSION_COLUMN)} <= {{mark:DateTime64(6, 'UTC')}}",
                {"mark": mark},
            )) if mark else 0
        with postgres.connect() as conn:
            source_rows = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{} WHERE coalesce({v}, 'epoch') <= %s").format(
                    sql.Identifier(postgres.source_schema), sql.Identifier(table.name),
                    v=sql.Identifier(VERSION_COLUMN),
                ),
                (mark,),
            ).fetchone()[0] if mark else 0
        return dg.AssetCheckResult(
            passed=replica_rows == source_rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "watermark": mark.isoformat() if mark else "none",
                "source_rows": source_rows,
                "replica_rows": replica_rows,
                "difference": replica_rows - source_rows,
            },
        )

    return matches_source


def build_source_keys_unique_check(table: SourceTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table.replica,
        name="source_keys_unique",
        blocking=True,
        description=f"`{table.key}` is unique at the source. Duplicates would be collapsed silently by the "
        "replica's dedup, so downstream totals would not reconcile: blocking.",
    )
    def source_keys_unique(postgres: PostgresResource) -> dg.AssetCheckResult:
        with postgres.connect() as conn:
            index = conn.execute(
                "SELECT i.indexrelid::regclass::text FROM pg_index i"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
                " WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indnatts = 1"
                " AND i.indpred IS NULL AND a.attname = %s LIMIT 1",
                (f'"{postgres.source_schema}"."{table.name}"', table.key),
            ).fetchone()
            if index:
                return dg.AssetCheckResult(passed=True, metadata={"enforced_by": f"unique index {index[0]}"})
            duplicates = conn.execute(
                sql.SQL("SELECT {k}, count(*) FROM {s}.{t} GROUP BY {k} HAVING count(*) > 1"
                        " ORDER BY count(*) DESC, {k} LIMIT %s").format(
                    k=sql.Identifier(table.key), s=sql.Identifier(postgres.source_schema),
                    t=sql.Identifier(table.name)),
                (SAMPLE_SIZE,),
            ).fetchall()
        return dg.AssetCheckResult(
            passed=not duplicates,
            metadata={
                "enforced_by": "none (scanned the table)",
                "duplicated_keys_sample": dg.MetadataValue.json([{"key": k, "rows": n} for k, n in duplicates]),
            },
        )

    return source_keys_unique


@dg.asset_check(
    asset=SALES.replica,
    name="orphan_keys",
    additional_deps=[CUSTOMERS.replica, PRODUCTS.replica],
    pool=clickhouse_pool(),
    description="Sales whose customer or product is missing (or NULL). The seed's inner joins drop them "
    "from the marts; a warning with counts and samples, not a gate.",
)
def raw_sales_orphan_keys(clickhouse: ClickHouseResource) -> dg.AssetCheckResult:
    with clickhouse.get_client() as wh:
        (orphan_c, orphan_p, null_c, null_p, sample_c, sample_p), = wh.rows(
            f"""
            SELECT
                countIf(customer_id IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM raw_customers FINAL)),
                countIf(product_id IS NOT NULL AND product_id NOT IN (SELECT product_id FROM raw_products FINAL)),
                countIf(customer_id IS NULL),
                countIf(product_id IS NULL),
                groupArrayIf({SAMPLE_SIZE})(sale_id,
                    customer_id IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM raw_customers FINAL)),
                groupArrayIf({SAMPLE_SIZE})(sale_id,
                    product_id IS NOT NULL AND product_id NOT IN (SELECT product_id FROM raw_products FINAL))
            FROM raw_sales FINAL
            """
        )
    return dg.AssetCheckResult(
        passed=orphan_c + orphan_p + null_c + null_p == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "orphan_customer_id": orphan_c,
            "orphan_product_id": orphan_p,
            "null_customer_id": null_c,
            "null_product_id": null_p,
            "sample_sale_ids_orphan_customer": dg.MetadataValue.json(list(sample_c)),
            "sample_sale_ids_orphan_product": dg.MetadataValue.json(list(sample_p)),
        },
    )


replica_checks = [
    *(build_matches_source_check(t) for t in SOURCE_TABLES),
    *(build_source_keys_unique_check(t) for t in SOURCE_TABLES),
    raw_sales_orphan_keys,
]
