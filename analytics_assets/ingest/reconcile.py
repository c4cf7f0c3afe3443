"""Compare a replica with its source by content, narrow to the rows that differ, repair them.

The watermark finds what changed with a later `updated_at`; it cannot see a row whose
`updated_at` went backwards (a clock-skewed application server, a bulk fix by hand, a restored
backup), a change that left `updated_at` alone, or a hard delete. The reconcile does, the way
data-diff tools do, without reading the table out of PostgreSQL:

1. Both sides split the keys into ranges of about BUCKET_ROWS rows (`key / width`) and sum, per
   range, a hash of each row's source values: PostgreSQL hashes the rows it holds now, ClickHouse
   adds up the hash stored with each replica row when it was read. Only the per-range counts and
   sums cross over.
2. In the ranges that differ, PostgreSQL sends each key with its hash (an index range scan), and
   ClickHouse finds the keys whose hash differs or which one side lacks.
3. Those rows are read again (whatever the transfer mode, through COPY by key) and keys gone
   from the source become tombstones, in one atomic append.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import sql

from analytics_assets.ingest.sources import (
    DELETED_COLUMN,
    HASH_COLUMN,
    SYNCED_COLUMN,
    VERSION_COLUMN,
)
from analytics_assets.ingest.transfer import Source, copy_into, key_filter, key_value, row_hash
from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.tables import scratch_tables

BUCKET_ROWS = 64
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Difference:
    """What differs between a replica and its source, as of the comparison."""

    source_rows: int
    replica_rows: int
    buckets: int
    buckets_differing: int
    rows_compared: int  # rows PostgreSQL sent one by one (the differing ranges)
    changed: list[int] = field(default_factory=list)  # keys to read again: different or missing
    gone: list[int] = field(default_factory=list)  # live replica keys the source no longer has

    @property
    def rows_differing(self) -> int:
        return len(self.changed) + len(self.gone)

    @property
    def source_rows_read(self) -> int:
        """Rows PostgreSQL read: the whole table once (hashed, not sent), then the differing ranges."""
        return self.source_rows + self.rows_compared


def _bucket_width(wh: Warehouse, source: Source) -> int:
    """Key-range width giving about BUCKET_ROWS replica rows per range."""
    key = quote_identifier(source.table.key)
    lo, hi, n = wh.rows(f"SELECT min({key}), max({key}), count() FROM {quote_identifier(source.table.replica)}"
                        f" WHERE {quote_identifier(DELETED_COLUMN)} = 0")[0]
    if not n:
        return BUCKET_ROWS
    return max(1, int((int(hi) - int(lo) + 1) / int(n) * BUCKET_ROWS))


def _ranges(buckets: list[int], width: int) -> tuple[list[int], list[int]]:
    """The key ranges [lo, hi] of `buckets` (truncating division: bucket 0 spans both signs),
    adjacent ones merged."""
    spans = []
    for b in sorted(buckets):
        if b > 0:
            spans.append((b * width, b * width + width - 1))
        elif b < 0:
            spans.append((b * width - width + 1, b * width))
        else:
            spans.append((-(width - 1), width - 1))
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [m[0] for m in merged], [m[1] for m in merged]


def compare(wh: Warehouse, conn: psycopg.Connection, source: Source, *,
            changed_after: datetime | None = None, block_bytes: int = 32 << 20) -> Difference:
    """Find every row that differs. `changed_after`: ignore source rows whose updated_at is
    later (changed since the last read: news for the next pull, not a divergence)."""
    table = source.table
    replica, key = quote_identifier(table.replica), quote_identifier(table.key)
    live = f"{replica} FINAL WHERE {quote_identifier(DELETED_COLUMN)} = 0"
    width = _bucket_width(wh, source)
    k, raw_k, v = key_value(source), sql.Identifier(table.key), sql.Identifier(VERSION_COLUMN)
    # Rows changed since `changed_after` count in no range sum; in the ranges that differ they
    # are sent with a flag and counted neither as changed nor as gone.
    fresh = sql.SQL("coalesce({v}, 'epoch') > %(after)s").format(v=v) if changed_after else sql.SQL("FALSE")
    params = {"w": width, "after": changed_after}
    with scratch_tables(wh, f"{table.replica}_src_buckets", f"{table.replica}_diff_buckets",
                        f"{table.replica}_src_keys") as (src_buckets, diff_buckets, src_keys):
        q = {n: quote_identifier(n) for n in (src_buckets, diff_buckets, src_keys)}
        wh.command(f"CREATE TABLE {q[src_buckets]} (b Int64, n UInt64, h Int128) ENGINE = MergeTree ORDER BY b")
        copy_into(wh, conn, src_buckets, ["b", "n", "h"], sql.SQL(
            "SELECT {k} / %(w)s::bigint, count(*), sum({h}) FROM {t} WHERE {keep} AND NOT ({fresh}) GROUP BY 1"
        ).format(k=k, h=row_hash(source), t=source.relation, keep=key_filter(source), fresh=fresh),
            params, block_bytes=block_bytes)
        wh.command(
            f"CREATE TABLE {q[diff_buckets]} ENGINE = MergeTree ORDER BY b AS"
            f" SELECT b FROM {q[src_buckets]} AS s FULL OUTER JOIN"
            f" (SELECT intDiv({key}, {{w:Int64}}) AS b, count() AS n, sum(toInt128({quote_identifier(HASH_COLUMN)})) AS h"
            f"  FROM {live} GROUP BY b) AS r USING b"
            f" WHERE s.n != r.n OR s.h != r.h",
            {"w": width},
        )
        (source_rows, buckets), = wh.rows(f"SELECT sum(n), count() FROM {q[src_buckets]}")
        replica_rows = int(wh.scalar(f"SELECT count() FROM {live}"))
        differing = [int(b) for (b,) in wh.rows(f"SELECT b FROM {q[diff_buckets]}")]
        if not differing:
            return Difference(int(source_rows), replica_rows, int(buckets), 0, 0)

        lows, highs = _ranges(differing, width)
        wh.command(f"CREATE TABLE {q[src_keys]} (k Int64, h Int64, fresh UInt8) ENGINE = MergeTree ORDER BY k")
        copy_into(wh, conn, src_keys, ["k", "h", "fresh"], sql.SQL(
            "SELECT {k}, {h}, ({fresh})::int FROM {t} JOIN unnest(%(lo)s::bigint[], %(hi)s::bigint[]) AS r(lo, hi)"
            " ON {raw_k} BETWEEN r.lo AND r.hi WHERE {keep}"
        ).format(k=k, raw_k=raw_k, h=row_hash(source), fresh=fresh, t=source.relation, keep=key_filter(source)),
            {**params, "lo": lows, "hi": highs}, block_bytes=block_bytes)
        in_ranges = f"intDiv({key}, {{w:Int64}}) IN (SELECT b FROM {q[diff_buckets]})"
        changed = [int(x) for (x,) in wh.rows(
            f"SELECT k FROM {q[src_keys]} WHERE NOT fresh AND (k, h) NOT IN"
            f" (SELECT {key}, {quote_identifier(HASH_COLUMN)} FROM {live} AND {in_ranges}) ORDER BY k",
            {"w": width})]
        gone = [int(x) for (x,) in wh.rows(
            f"SELECT {key} FROM {live} AND {in_ranges} AND {key} NOT IN (SELECT k FROM {q[src_keys]}) ORDER BY {key}",
            {"w": width})]
        rows_compared = int(wh.scalar(f"SELECT count() FROM {q[src_keys]}"))
    return Difference(int(source_rows), replica_rows, int(buckets), len(differing), rows_compared, changed, gone)


def tombstones(wh: Warehouse, source: Source, into: str, keys: list[int], *, read_before: datetime) -> None:
    """Write into `into` a tombstone for each live replica row of `keys` synced before
    `read_before` (a row appended since is newer than what the comparison saw). Its version is
    the time the delete was found, so whatever is derived from the replica by `_synced_at` sees
    the delete as a change."""
    table = source.table
    key, version, deleted, synced = (
        quote_identifier(n) for n in (table.key, VERSION_COLUMN, DELETED_COLUMN, SYNCED_COLUMN)
    )
    wh.command(
        f"INSERT INTO {quote_identifier(into)} SELECT * REPLACE ("
        f"greatest({version} + toIntervalMicrosecond(1), now64(6)) AS {version}, 1 AS {deleted},"
        f" now64(6) AS {synced})"
        # Filter in a subquery: in ClickHouse the REPLACE aliases would shadow the columns.
        f" FROM (SELECT * FROM {quote_identifier(table.replica)} FINAL"
        f" WHERE {key} IN {{keys:Array(Int64)}} AND {deleted} = 0"
        f" AND {synced} < {{read_before:DateTime64(6, 'UTC')}})",
        {"keys": keys, "read_before": read_before},
    )


def sample(keys: list[int]) -> list[int]:
    return keys[:SAMPLE_SIZE]
