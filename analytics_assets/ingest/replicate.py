"""Keep one replica in step with its source table: incremental by watermark, or a full resync.

The watermark is what ClickHouse already holds (max updated_at of live rows); each run re-reads
a short look-back before it so that late-committing transactions are not missed, and
ReplacingMergeTree makes the re-read harmless. New rows go to a staging table first and are
attached in one atomic step, so a failed transfer leaves the replica as it was and the next run
catches up with no gaps and no duplicates. Hard deletes become tombstones at a key
reconciliation (periodic: it reads every key of the source).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

from analytics_assets.ingest import transfer
from analytics_assets.ingest.sources import DELETED_COLUMN, SYNCED_COLUMN, VERSION_COLUMN, SourceTable
from analytics_assets.ingest.transfer import TRANSFER_MODES, TransferMode, Window
from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.resources.postgres import PostgresResource
from analytics_assets.settings import SettingError
from analytics_assets.warehouse import append_atomically, replace_table
from analytics_assets.warehouse.identifiers import quote_identifier, validate_identifier
from analytics_assets.warehouse.tables import create_table_sql, scratch_tables


@dataclass(frozen=True)
class ReplicationResult:
    table: str
    transfer_mode: str
    full_resync: bool
    resync_reason: str | None
    rows_read: int
    rows_new: int
    rows_written: int
    tombstones: int
    watermark_before: datetime | None
    watermark_after: datetime | None
    seconds: float


def watermark(wh: Warehouse, table: SourceTable) -> datetime | None:
    value = wh.scalar(
        f"SELECT maxOrNull({quote_identifier(VERSION_COLUMN)}) FROM {quote_identifier(table.replica)}"
        f" WHERE {quote_identifier(DELETED_COLUMN)} = 0"
    )
    return utc(value)


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def expected_columns(table: SourceTable) -> list[tuple[str, str]]:
    return [(c.name, c.ch_type) for c in table.columns] + [
        (VERSION_COLUMN, "DateTime64(6, 'UTC')"),
        (DELETED_COLUMN, "UInt8"),
        (SYNCED_COLUMN, "DateTime64(6, 'UTC')"),
    ]


def schema_drift(wh: Warehouse, table: SourceTable) -> str | None:
    """Why the existing replica's columns differ from the spec (None: they match)."""
    actual = wh.rows(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}"
        " ORDER BY position",
        {"db": wh.database, "t": table.replica},
    )
    expected = expected_columns(table)
    if [tuple(r) for r in actual] != expected:
        return f"replica columns {[tuple(r) for r in actual]} differ from the spec {expected}"
    return None


def resolve_mode(mode: str | None) -> TransferMode:
    import os

    value = mode or os.environ.get("ANALYTICS_TRANSFER_MODE") or "client"
    if value not in TRANSFER_MODES:
        raise SettingError(
            f"transfer_mode (or ANALYTICS_TRANSFER_MODE): {value!r} is not one of {', '.join(TRANSFER_MODES)}"
        )
    return value  # type: ignore[return-value]


def replicate(
    wh: Warehouse,
    pg: PostgresResource,
    table: SourceTable,
    *,
    mode: str | None = None,
    full_resync: bool = False,
    reconcile_deletes: bool = False,
    lookback: timedelta = timedelta(minutes=10),
    block_bytes: int = 32 << 20,
) -> ReplicationResult:
    started = time.monotonic()
    mode = resolve_mode(mode)
    schema = validate_identifier(pg.source_schema, what="source_schema")
    with pg.connect() as conn:
        transfer.check_source_columns(conn, table, schema)
    if mode == "server":
        transfer.check_server_timezone(wh, pg)

    exists = wh.table_exists(table.replica)
    before = watermark(wh, table) if exists else None
    reason = (
        "requested" if full_resync
        else "replica missing" if not exists
        else schema_drift(wh, table) or ("replica empty" if before is None else None)
    )

    read = new = 0

    def pull(into: str, window: Window) -> None:
        """Read the window into `into`; count the rows read and those newer than the watermark
        (the look-back re-reads rows the replica has: they are not news)."""
        nonlocal read, new
        if mode == "server":
            transfer.server_pull(wh, pg, table, schema, into, window)
        else:
            with pg.connect() as conn:
                transfer.client_pull(wh, conn, table, schema, into, window, block_bytes=block_bytes)
        (read, new), = wh.rows(
            f"SELECT count(), countIf({quote_identifier(VERSION_COLUMN)} > {{mark:DateTime64(6, 'UTC')}})"
            f" FROM {quote_identifier(into)}",
            {"mark": before if before and reason is None else EPOCH},
        )

    if reason is not None:
        def build(staging: str) -> None:
            wh.command(create_table_sql(staging, table.replica_body()))
            pull(staging, Window(since=None))

        replace_table(wh, table.replica, build)
        written = read
    else:
        written = append_atomically(wh, table.replica, lambda staging: pull(staging, Window(before - lookback)))

    tombstones = 0
    if reconcile_deletes and reason is None:
        tombstones = _reconcile_deletes(wh, pg, table, schema, mode, block_bytes)

    return ReplicationResult(
        table=table.replica,
        transfer_mode=mode,
        full_resync=reason is not None,
        resync_reason=reason,
        rows_read=int(read),
        rows_new=int(new) + tombstones,
        rows_written=int(written) + tombstones,
        tombstones=tombstones,
        watermark_before=before,
        watermark_after=watermark(wh, table),
        seconds=round(time.monotonic() - started, 3),
    )


def _reconcile_deletes(wh: Warehouse, pg: PostgresResource, table: SourceTable, schema: str,
                       mode: TransferMode, block_bytes: int) -> int:
    """Tombstone every live replica row whose key the source no longer has.

    A tombstone's version is the time the delete was found (and at least the row's version plus
    1 us), so that whatever is derived from the replica by version sees the delete as a change.
    Only rows already synced when the keys were read can be tombstoned (a concurrent run may
    append newer ones)."""
    with scratch_tables(wh, f"{table.replica}_keys") as (keys,):
        wh.command(f"CREATE TABLE {quote_identifier(keys)} (k Int64) ENGINE = MergeTree ORDER BY k")
        keys_read_at = wh.scalar("SELECT now64(6)")
        if mode == "server":
            transfer.server_pull_keys(wh, pg, table, schema, keys)
        else:
            with pg.connect() as conn:
                transfer.client_pull_keys(wh, conn, table, schema, keys, block_bytes=block_bytes)
        key, version, deleted, synced = (
            quote_identifier(n) for n in (table.key, VERSION_COLUMN, DELETED_COLUMN, SYNCED_COLUMN)
        )

        def tombstones(staging: str) -> None:
            wh.command(
                f"INSERT INTO {quote_identifier(staging)} SELECT * REPLACE ("
                f"greatest({version} + toIntervalMicrosecond(1), now64(6)) AS {version}, 1 AS {deleted},"
                f" now64(6) AS {synced})"
                # Filter in a subquery: in ClickHouse the REPLACE aliases would shadow the columns.
                f" FROM (SELECT * FROM {quote_identifier(table.replica)} FINAL"
                f" WHERE {key} NOT IN (SELECT k FROM {quote_identifier(keys)})"
                f" AND {synced} < {{keys_read_at:DateTime64(6, 'UTC')}})",
                {"keys_read_at": keys_read_at},
            )

        return append_atomically(wh, table.replica, tombstones)
