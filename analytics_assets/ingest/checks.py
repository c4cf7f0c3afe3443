"""Data-quality gates on the replicas. Blocking only where downstream results would be wrong."""

import dagster as dg
from psycopg import sql

from analytics_assets.ingest.reconcile import SAMPLE_SIZE, compare, sample
from analytics_assets.ingest.replicate import EPOCH, utc
from analytics_assets.ingest.sources import (
    CLOCK_COLUMN,
    CUSTOMERS,
    DELETED_COLUMN,
    ISSUES_COLUMN,
    PRODUCTS,
    SALES,
    SOURCE_TABLES,
    SourceTable,
)
from analytics_assets.ingest.transfer import inspect_source, key_enforced_by, relation
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.identifiers import quote_identifier, validate_identifier


def build_matches_source_check(table: SourceTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table.replica,
        name="matches_source",
        pool=clickhouse_pool(),
        description="Every live replica row has the content of its source row, and no key is missing on either "
        "side: hashes of each row's source values compared per key range, then per key where a range "
        "differs (rows the source changed after the last read are left to the next pull). A difference "
        "means updates the watermark could not see (updated_at set backwards) or hard deletes: the "
        "daily reconcile repairs both.",
    )
    def matches_source(postgres: PostgresResource, clickhouse: ClickHouseResource) -> dg.AssetCheckResult:
        schema = validate_identifier(postgres.source_schema, what="source_schema")
        with clickhouse.get_client() as wh, postgres.connect() as conn:
            source = inspect_source(conn, table, schema)
            read_at = utc(wh.scalar(f"SELECT maxOrNull({quote_identifier(CLOCK_COLUMN)}) FROM "
                                    f"{quote_identifier(table.replica)}"))
            difference = compare(wh, conn, source, changed_after=read_at or EPOCH)
        return dg.AssetCheckResult(
            passed=difference.rows_differing == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "compared_as_of": read_at.isoformat() if read_at else "none",
                "source_rows": difference.source_rows,
                "replica_rows": difference.replica_rows,
                "difference": difference.replica_rows - difference.source_rows,
                "key_ranges": difference.buckets,
                "key_ranges_differing": difference.buckets_differing,
                "rows_changed_at_source": len(difference.changed),
                "rows_gone_from_source": len(difference.gone),
                "changed_keys_sample": dg.MetadataValue.json(sample(difference.changed)),
                "gone_keys_sample": dg.MetadataValue.json(sample(difference.gone)),
            },
        )

    return matches_source


SOURCE_KEYS_UNIQUE = "source_keys_unique"
FLAGGED_ROWS = "flagged_rows"


def source_keys_unique(postgres: PostgresResource, table: SourceTable) -> dg.AssetCheckResult:
    """`table.key` is NOT NULL and unique at the source: by its constraints, else by a scan."""
    schema = validate_identifier(postgres.source_schema, what="source_schema")
    with postgres.connect() as conn:
        index = key_enforced_by(conn, table, schema)
        if index:
            return dg.AssetCheckResult(asset_key=table.replica, check_name=SOURCE_KEYS_UNIQUE, passed=True,
                                       metadata={"enforced_by": f"NOT NULL and unique index {index}"})
        source = relation(schema, table)
        k = sql.Identifier(table.key)
        duplicates = conn.execute(
            sql.SQL("SELECT {k}, count(*) FROM {t} WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) > 1"
                    " ORDER BY count(*) DESC, {k} LIMIT %s").format(k=k, t=source),
            (SAMPLE_SIZE,),
        ).fetchall()
        null_keys = conn.execute(sql.SQL("SELECT count(*) FROM {t} WHERE {k} IS NULL").format(k=k, t=source)
                                 ).fetchone()[0]
    return dg.AssetCheckResult(
        asset_key=table.replica, check_name=SOURCE_KEYS_UNIQUE,
        passed=not duplicates and not null_keys,
        metadata={
            "enforced_by": "none (scanned the table)",
            "null_keys": null_keys,
            "duplicated_keys_sample": dg.MetadataValue.json([{"key": k, "rows": n} for k, n in duplicates]),
            "quarantine": table.quarantine,
        },
    )


def flagged_rows(wh, table: SourceTable) -> dg.AssetCheckResult:
    """The replica's rows that carry a flag (`_source_issues`), named by key with the original text."""
    key, issues = quote_identifier(table.key), quote_identifier(ISSUES_COLUMN)
    replica = quote_identifier(table.replica)
    # The flags live in one mostly-empty column: find the keys there, then take FINAL on them only.
    (flagged, sample_rows), = wh.rows(
        f"SELECT count(), groupArray({SAMPLE_SIZE})(({key}, {issues})) FROM (SELECT {key}, {issues}"
        f" FROM {replica} FINAL WHERE {key} IN (SELECT {key} FROM {replica} WHERE {issues} != '')"
        f" AND {quote_identifier(DELETED_COLUMN)} = 0 AND {issues} != '' ORDER BY {key})"
    )
    return dg.AssetCheckResult(
        asset_key=table.replica, check_name=FLAGGED_ROWS,
        passed=flagged == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "flagged_rows": flagged,
            "sample": dg.MetadataValue.json([{"key": k, "issues": text} for k, text in sample_rows]),
        },
    )


def _hourly_specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for t in SOURCE_TABLES:
        specs.append(dg.AssetCheckSpec(
            SOURCE_KEYS_UNIQUE, asset=t.replica, blocking=True,
            description=f"`{t.key}` is present and unique at the source. A row without a key, or sharing it, "
            f"cannot be replicated (it would become key 0, or collapse into another row): it is kept out of the "
            f"replica and listed with its reason in `{t.quarantine}`, and this check blocks what would publish it."))
        specs.append(dg.AssetCheckSpec(
            FLAGGED_ROWS, asset=t.replica,
            description="Rows mirrored with a flag: a value ClickHouse cannot hold (numeric NaN or Infinity, money "
            "beyond Decimal(18, 2), an integer beyond Int64, a year outside 1-9999) stored as NULL, or an "
            "updated_at ahead of the source's clock (kept out of the watermark). Each named with its key and "
            "the original text; a warning, the other rows arrive."))
    return specs


@dg.multi_asset_check(specs=_hourly_specs(), can_subset=True, name="replica_hourly_checks", pool=clickhouse_pool())
def replica_hourly_checks(context: dg.AssetCheckExecutionContext, postgres: PostgresResource,
                          clickhouse: ClickHouseResource):
    """The replicas' cheap checks that run every hour, in one step (each its own check in the UI)."""
    selected = context.selected_asset_check_keys
    wanted = [(t, name) for t in SOURCE_TABLES for name in (SOURCE_KEYS_UNIQUE, FLAGGED_ROWS)
              if dg.AssetCheckKey(dg.AssetKey(t.replica), name) in selected]
    for t, name in wanted:
        if name == SOURCE_KEYS_UNIQUE:
            yield source_keys_unique(postgres, t)
    if any(name == FLAGGED_ROWS for _, name in wanted):
        with clickhouse.get_client() as wh:
            for t, name in wanted:
                if name == FLAGGED_ROWS:
                    yield flagged_rows(wh, t)


@dg.asset_check(
    asset=SALES.replica,
    name="orphan_keys",
    additional_deps=[CUSTOMERS.replica, PRODUCTS.replica],
    pool=clickhouse_pool(),
    description="Sales whose customer or product is missing (or NULL). The original Airflow examples' inner joins drop them "
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
    replica_hourly_checks,
    raw_sales_orphan_keys,
]
