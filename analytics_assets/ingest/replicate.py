"""Keep one replica in step with its source table: incremental by watermark, a content
reconcile, or a full resync.

The watermark is what ClickHouse already holds: the newest `updated_at` of the live rows, but
never past the source's own clock when they were read (`_source_clock`), so one row dated 2099
cannot stop every later change from arriving. Each run re-reads a short look-back before it so
that late-committing transactions are not missed; the replica keeps the version read last, so a
re-read is harmless. New rows go to a staging table first and are attached in one atomic step,
so a failed transfer leaves the replica as it was and the next run catches up with no gaps and
no duplicates. What the watermark cannot see (an `updated_at` set backwards, a hard delete) the
reconcile finds by comparing content (reconcile.py) and repairs. Rows without a usable key go
to `<replica>_quarantine`, never into the replica.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from analytics_assets.ingest import reconcile as content
from analytics_assets.ingest import transfer
from analytics_assets.ingest.sources import (
    CLOCK_COLUMN,
    DELETED_COLUMN,
    SYNCED_COLUMN,
    VERSION_COLUMN,
    SourceTable,
)
from analytics_assets.ingest.transfer import TRANSFER_MODES, Source, TransferMode, Window
from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.resources.postgres import PostgresResource
from analytics_assets import settings
from analytics_assets.settings import SettingError
from analytics_assets.warehouse import append_atomically, replace_table
from analytics_assets.identifiers import quote_identifier, validate_identifier
from analytics_assets.warehouse.tables import create_table_sql

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Past this share of the source differing, the reconcile rebuilds the replica whole: cheaper
# than reading that many rows one key at a time.
RESYNC_SHARE = 0.1


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
    quarantined: int = 0
    reconciled: bool = False
    rows_repaired: int = 0
    buckets_compared: int = 0
    buckets_differing: int = 0
    source_rows_read: int = 0  # every row PostgreSQL read: the pull, the comparison, the repair
    repaired_sample: tuple[int, ...] = ()


WATERMARKS = "replica_watermarks"
# The newest source version among `$table`'s live rows, each capped at the source's clock.
NEWEST_VERSION = (f"maxOrNull(if({quote_identifier(DELETED_COLUMN)} = 0,"
                  f" least({quote_identifier(VERSION_COLUMN)}, {quote_identifier(CLOCK_COLUMN)}), NULL))")


def watermark(wh: Warehouse, table: SourceTable) -> datetime | None:
    """The newest source version held, each row's capped at the source's clock when it was read: as
    recorded by the last pull into this very table (its UUID), else by reading the replica's two
    columns whole (seconds at tens of millions of rows; the recorded one is one small row)."""
    uuid = wh.table_uuid(table.replica)
    if wh.table_exists(WATERMARKS):
        (recorded, found), = wh.rows(
            f"SELECT argMax(watermark, recorded_at), count() FROM {WATERMARKS}"
            " WHERE replica = {r:String} AND table_uuid = {u:String}", {"r": table.replica, "u": uuid})
        if found:
            return utc(recorded)
    return utc(wh.scalar(f"SELECT {NEWEST_VERSION} FROM {quote_identifier(table.replica)}"))


def _record_watermark(wh: Warehouse, table: SourceTable, value: datetime | None) -> None:
    """Written after the rows it covers were attached: a run that fails before writing it leaves the
    previous (older) one, and the next pull re-reads a little more (a re-read is harmless)."""
    wh.command(f"CREATE TABLE IF NOT EXISTS {WATERMARKS} (replica String, table_uuid String,"
               " watermark Nullable(DateTime64(6, 'UTC')), recorded_at DateTime64(6, 'UTC'))"
               " ENGINE = ReplacingMergeTree(recorded_at) ORDER BY (replica, table_uuid)")
    wh.insert_rows(WATERMARKS, [(table.replica, wh.table_uuid(table.replica), value, datetime.now(timezone.utc))],
                   ["replica", "table_uuid", "watermark", "recorded_at"])


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def schema_drift(wh: Warehouse, table: SourceTable) -> str | None:
    """Why the existing replica's columns or engine differ from the spec (None: they match)."""
    actual = [tuple(r) for r in wh.rows(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}"
        " ORDER BY position",
        {"db": wh.database, "t": table.replica},
    )]
    expected = table.replica_columns()
    if actual != expected:
        return f"replica columns {actual} differ from the spec {expected}"
    engine = wh.scalar("SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}",
                       {"db": wh.database, "t": table.replica})
    wanted = f"ReplacingMergeTree({SYNCED_COLUMN}, {DELETED_COLUMN})"
    if not engine.startswith(wanted):
        return f"replica engine {engine.split(' ORDER BY')[0]} differs from the spec {wanted}"
    return None


def resolve_mode(mode: str | None) -> TransferMode:
    value = mode or settings.transfer_mode() or "client"
    if value not in TRANSFER_MODES:
        raise SettingError(
            f"transfer_mode (or {settings.TRANSFER_MODE}): {value!r} is not one of {', '.join(TRANSFER_MODES)}"
        )
    return value  # type: ignore[return-value]


def replicate(
    wh: Warehouse,
    pg: PostgresResource,
    table: SourceTable,
    *,
    mode: str | None = None,
    full_resync: bool = False,
    reconcile: bool = False,
    reconcile_deletes: bool = False,
    lookback: timedelta = timedelta(minutes=10),
    future_tolerance: timedelta = timedelta(minutes=5),
    block_bytes: int = 32 << 20,
) -> ReplicationResult:
    """Bring the replica up to date. `reconcile` (or its older name `reconcile_deletes`) also
    compares every row's content with the source and repairs what differs."""
    started = time.monotonic()
    mode = resolve_mode(mode)
    schema = validate_identifier(pg.source_schema, what="source_schema")
    with pg.connect() as conn:
        source = transfer.inspect_source(conn, table, schema, future_tolerance)
    if mode == "server":
        transfer.check_server_timezone(wh, pg)

    exists = wh.table_exists(table.replica)
    drift = schema_drift(wh, table) if exists else None
    before = watermark(wh, table) if exists and drift is None else None
    reason = (
        "requested" if full_resync
        else "replica missing" if not exists
        else drift or ("replica empty" if before is None else None)
    )
    quarantined = refresh_quarantine(wh, pg, source)
    read = new = 0
    newest = None  # NEWEST_VERSION of the rows pulled last

    def pull(into: str, window: Window) -> None:
        """Read the window into `into`; count the rows read and those newer than the watermark
        (the look-back re-reads rows the replica has: they are not news)."""
        nonlocal read, new, newest
        if mode == "server" and window.keys is None:
            transfer.server_pull(wh, pg, source, into, window, block_bytes=block_bytes)
        else:  # repairs are read by key, through COPY whatever the mode
            with pg.connect() as conn:
                transfer.client_pull(wh, conn, source, into, window, block_bytes=block_bytes)
        (read, new, newest), = wh.rows(
            f"SELECT count(), countIf({quote_identifier(VERSION_COLUMN)} > {{mark:DateTime64(6, 'UTC')}}),"
            f" {NEWEST_VERSION} FROM {quote_identifier(into)}",
            {"mark": before if before and reason is None else EPOCH},
        )
        newest = utc(newest)

    def rebuild() -> None:
        def build(staging: str) -> None:
            wh.command(create_table_sql(staging, table.replica_body()))
            pull(staging, Window(since=None))

        replace_table(wh, table.replica, build)

    if reason is not None:
        rebuild()
        written = read
    else:
        written = append_atomically(wh, table.replica, lambda staging: pull(staging, Window(before - lookback)))
    pulled, pulled_new = read, new

    difference, repaired, repair_read = None, 0, 0
    if (reconcile or reconcile_deletes) and reason is None:
        found_at = wh.scalar("SELECT now64(6)")
        with pg.connect() as conn:
            difference = content.compare(wh, conn, source, block_bytes=block_bytes)
        if difference.rows_differing > RESYNC_SHARE * max(difference.source_rows, 1):
            reason = (f"reconcile: {difference.rows_differing} of {difference.source_rows} rows differ "
                      f"(more than {RESYNC_SHARE:.0%})")
            rebuild()
            written, repaired, repair_read = read, difference.rows_differing, read
        elif difference.rows_differing:
            def repair(staging: str) -> None:
                if difference.changed:
                    pull(staging, Window(keys=difference.changed))
                if difference.gone:
                    content.tombstones(wh, source, staging, difference.gone, read_before=found_at)

            written = append_atomically(wh, table.replica, repair)
            repaired, repair_read = written, len(difference.changed)
    tombstones = len(difference.gone) if difference and reason is None else 0
    if reason is not None:  # rebuilt: the rows pulled are the table
        after = newest
    elif difference is not None and difference.rows_differing:  # repairs may hold any version
        after = utc(wh.scalar(f"SELECT {NEWEST_VERSION} FROM {quote_identifier(table.replica)}"))
    else:  # appended: the table's newest is the older newest or the pull's
        after = max((v for v in (before, newest) if v is not None), default=None)
    _record_watermark(wh, table, after)

    return ReplicationResult(
        table=table.replica,
        transfer_mode=mode,
        full_resync=reason is not None,
        resync_reason=reason,
        rows_read=int(pulled),
        rows_new=int(pulled_new) + repaired,
        rows_written=int(written),
        tombstones=tombstones,
        watermark_before=before,
        watermark_after=after,
        seconds=round(time.monotonic() - started, 3),
        quarantined=quarantined,
        reconciled=difference is not None,
        rows_repaired=repaired,
        buckets_compared=difference.buckets if difference else 0,
        buckets_differing=difference.buckets_differing if difference else 0,
        source_rows_read=int(pulled) + (difference.source_rows_read if difference else 0) + repair_read,
        repaired_sample=tuple(content.sample(difference.changed + difference.gone)) if difference else (),
    )


QUARANTINE_BODY = """(
    `key` Nullable(String),
    `reason` String,
    `row` String,
    `found_at` DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = MergeTree ORDER BY tuple()"""


def refresh_quarantine(wh: Warehouse, pg: PostgresResource, source: Source) -> int:
    """Rebuild `<replica>_quarantine` with the source rows that cannot be replicated now (a NULL,
    shared or out-of-range key), each with its reason and text; empty once the source is fixed.
    Nothing to do while PostgreSQL enforces the key and no quarantine exists."""
    table = source.table
    if source.key_enforced_by and not wh.table_exists(table.quarantine):
        return 0

    def build(staging: str) -> None:
        wh.command(create_table_sql(staging, QUARANTINE_BODY))
        if not source.key_enforced_by:
            with pg.connect() as conn:
                transfer.copy_into(wh, conn, staging, ["key", "reason", "row"], transfer.quarantine_query(source))

    replace_table(wh, table.quarantine, build)
    return wh.row_count(table.quarantine)
