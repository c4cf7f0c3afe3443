"""raw_customers, raw_products, raw_sales: ClickHouse replicas of the source tables."""

from datetime import timedelta

import dagster as dg
from pydantic import Field

from analytics_assets.ingest.replicate import ReplicationResult, replicate
from analytics_assets.ingest import replicate as replicate_module
from analytics_assets.ingest import sources as sources_module
from analytics_assets.ingest.sources import SOURCE_TABLES, SourceTable, replica_column_descriptions
from analytics_assets.warehouse.columns import Column, code_references, table_schema
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.resources.clickhouse import clickhouse_pool

INGEST_GROUP = "ingest"


class ReplicaConfig(dg.Config):
    transfer_mode: str | None = Field(
        default=None,
        description="'client' (COPY streamed through this process as TabSeparated; measured fastest) or "
        "'server' (ClickHouse pulls with postgresql()); default $ANALYTICS_TRANSFER_MODE, else 'client'",
    )
    full_resync: bool = Field(default=False, description="rebuild the replica from the whole source table")
    reconcile: bool = Field(
        default=False,
        description="compare every row's content with the source (hashes per key range, then per key where "
        "they differ) and repair what differs: updates the watermark cannot see, hard deletes",
    )
    reconcile_deletes: bool = Field(default=False, description="the older name of `reconcile`")
    lookback_minutes: int = Field(
        default=10, ge=0, description="re-read this much before the watermark (late-committing transactions)"
    )
    future_tolerance_minutes: int = Field(
        default=5, ge=0,
        description="an updated_at further than this ahead of the source's clock is flagged (flagged_rows)",
    )
    block_mb: int = Field(default=32, ge=1, description="client mode: size of each chunk of rows handed to ClickHouse")


def _metadata(result: ReplicationResult, source: str) -> dict:
    def stamp(value):
        return value.isoformat() if value else "none"

    return {
        "source": source,
        "transfer_mode": result.transfer_mode,
        "full_resync": result.full_resync,
        "resync_reason": result.resync_reason or "",
        "rows_read": result.rows_read,
        "rows_new": result.rows_new,
        "rows_written": result.rows_written,
        "tombstones": result.tombstones,
        "quarantined": result.quarantined,
        "source_rows_read": result.source_rows_read,
        "watermark_before": stamp(result.watermark_before),
        "watermark_after": stamp(result.watermark_after),
        "duration_s": result.seconds,
        **({
            "rows_repaired": result.rows_repaired,
            "buckets_compared": result.buckets_compared,
            "buckets_differing": result.buckets_differing,
            "repaired_keys_sample": dg.MetadataValue.json(list(result.repaired_sample)),
        } if result.reconciled else {}),
    }


def build_replica_asset(table: SourceTable) -> dg.AssetsDefinition:
    @dg.asset(
        name=table.replica,
        group_name=INGEST_GROUP,
        kinds={"clickhouse", "postgres"},
        # Two ingest runs of one replica must not interleave (sales_fact reads what arrived by
        # _synced_at); against a server there is no chDB pool.
        pool=clickhouse_pool() or "ingest",
        description=f"Replica of the source table `{table.name}` (ReplacingMergeTree by `{table.key}`, "
        "the version read last wins; read it with FINAL). Pulled incrementally by watermark (never past the "
        "source's clock); the daily reconcile compares content and repairs what the watermark cannot see.",
        metadata={
            "dagster/column_schema": table_schema(Column(name, kind, replica_column_descriptions(table).get(name))
                                                  for name, kind in table.replica_columns()),
            "dagster/code_references": code_references(sources_module.__file__, replicate_module.__file__),
        },
    )
    def replica(
        context: dg.AssetExecutionContext,
        config: ReplicaConfig,
        postgres: PostgresResource,
        clickhouse: ClickHouseResource,
    ) -> dg.MaterializeResult:
        with clickhouse.get_client() as wh:
            result = replicate(
                wh,
                postgres,
                table,
                mode=config.transfer_mode,
                full_resync=config.full_resync,
                reconcile=config.reconcile or config.reconcile_deletes,
                lookback=timedelta(minutes=config.lookback_minutes),
                future_tolerance=timedelta(minutes=config.future_tolerance_minutes),
                block_bytes=config.block_mb << 20,
            )
        context.log.info(
            f"{table.replica}: read {result.rows_read} rows ({result.transfer_mode} mode"
            f"{', full resync: ' + result.resync_reason if result.full_resync else ''}), "
            f"{result.tombstones} tombstones"
            f"{f', {result.rows_repaired} rows repaired by the reconcile' if result.reconciled else ''}"
            f"{f', {result.quarantined} rows quarantined (see {table.quarantine})' if result.quarantined else ''}"
            f", {result.seconds} s"
        )
        return dg.MaterializeResult(metadata=_metadata(result, postgres.masked_dsn()))

    return replica


replica_assets = [build_replica_asset(table) for table in SOURCE_TABLES]
