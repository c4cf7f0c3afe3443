"""sales_fact refresh: only the months touched by changed rows are rebuilt.

What changed is read from the replicas by version: sales newer than the newest version the fact
holds (tombstones included), and customers or products newer than theirs (their sales'
attributes changed), each minus a look-back that matches the ingest's. Those months are rebuilt
from the replicas into a staging table and swapped in with `REPLACE PARTITION` (atomic per
month); a month left empty is dropped. The first build, a schema change, or `full_rebuild`
rebuilds every month and swaps the whole table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.warehouse import replace_table
from analytics_assets.warehouse.identifiers import quote_identifier
from analytics_assets.warehouse.sql import render_sql, run_script, sql_file
from analytics_assets.warehouse.tables import staging_name

TABLE = "sales_fact"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class FactRefresh:
    full: bool
    reason: str | None
    months: list[int]
    rows_written: int
    seconds: float


def _since(wh: Warehouse, column: str, lookback: timedelta) -> datetime:
    value = wh.scalar(f"SELECT maxOrNull({quote_identifier(column)}) FROM {TABLE}")
    if value is None:
        return EPOCH
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    return max(EPOCH, value - lookback)


def _schema_matches(wh: Warehouse) -> bool:
    probe = staging_name(f"{TABLE}_schema")
    wh.command(render_sql(sql_file(__file__, "sales_fact_table"), target=probe))
    try:
        query = ("SELECT groupArray((name, type)) FROM (SELECT name, type FROM system.columns"
                 " WHERE database = {db:String} AND table = {t:String} ORDER BY position)")
        return wh.scalar(query, {"db": wh.database, "t": TABLE}) == wh.scalar(query, {"db": wh.database, "t": probe})
    finally:
        wh.command(f"DROP TABLE IF EXISTS {quote_identifier(probe)}")


def refresh_sales_fact(wh: Warehouse, *, full_rebuild: bool = False,
                       lookback: timedelta = timedelta(minutes=10)) -> FactRefresh:
    started = time.monotonic()
    exists = wh.table_exists(TABLE)
    reason = ("requested" if full_rebuild else "table missing" if not exists
              else None if _schema_matches(wh) else "schema changed")
    since = {} if reason else {
        "sales_since": _since(wh, "updated_at", lookback),
        "customers_since": _since(wh, "customer_updated_at", lookback),
        "products_since": _since(wh, "product_updated_at", lookback),
    }
    months_table, candidates = staging_name(f"{TABLE}_months"), staging_name(f"{TABLE}_candidates")
    wh.command(f"CREATE TABLE {quote_identifier(months_table)} (month UInt32) ENGINE = Memory")
    wh.command(f"CREATE TABLE {quote_identifier(candidates)} (sale_id Int64) ENGINE = Memory")
    try:
        if reason:
            _all_sales(wh, months_table, candidates)
        else:
            run_script(wh, sql_file(__file__, "sales_fact_changes"), since,
                       months=months_table, candidates=candidates)
        months = sorted(m for (m,) in wh.rows(f"SELECT month FROM {quote_identifier(months_table)}"))

        def build(staging: str) -> None:
            wh.command(render_sql(sql_file(__file__, "sales_fact_table"), target=staging))
            run_script(wh, sql_file(__file__, "sales_fact"), months=months_table,
                       candidates=candidates, target=staging)

        if reason:
            replace_table(wh, TABLE, build)
            written = wh.row_count(TABLE)
        else:
            written = _replace_months(wh, months, build)
    finally:
        for name in (months_table, candidates):
            wh.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
    return FactRefresh(full=reason is not None, reason=reason, months=months, rows_written=written,
                       seconds=round(time.monotonic() - started, 3))


def _all_sales(wh: Warehouse, months_table: str, candidates: str) -> None:
    wh.command(
        f"INSERT INTO {quote_identifier(months_table)} SELECT DISTINCT"
        " toYYYYMM(ifNull(toDate32(sale_date), toDate32('1970-01-01'))) FROM raw_sales"
    )
    wh.command(f"INSERT INTO {quote_identifier(candidates)} SELECT DISTINCT sale_id FROM raw_sales")


def _replace_months(wh: Warehouse, months: list[int], build) -> int:
    if not months:
        return 0
    staging = staging_name(TABLE)
    try:
        build(staging)
        present = dict(wh.rows(
            f"SELECT toYYYYMM(sale_day), count() FROM {quote_identifier(staging)} GROUP BY 1"
        ))
        for month in months:
            verb = "REPLACE" if month in present else "DROP"
            source = f" FROM {quote_identifier(staging)}" if month in present else ""
            wh.command(f"ALTER TABLE {TABLE} {verb} PARTITION ID {{pid:String}}{source}", {"pid": str(month)})
        return int(sum(present.values()))
    finally:
        wh.command(f"DROP TABLE IF EXISTS {quote_identifier(staging)}")
