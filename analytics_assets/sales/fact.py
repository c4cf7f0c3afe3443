"""sales_fact refresh: only the months whose sales changed are rebuilt.

What changed is read from the replicas by version: sales newer than the newest version the fact
holds (tombstones included), and customers or products newer than theirs, each minus a
look-back that matches the ingest's. The sales' months are rebuilt from the replicas into a
staging table and swapped in with `REPLACE PARTITION` (atomic per month; a month left empty is
dropped). Changed customers and products are patched in place with lightweight UPDATEs: they
touch every month of their history. The first build, a schema change, or `full_rebuild`
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
    customers_patched: int
    products_patched: int
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
        query = ("SELECT (SELECT groupArray((name, type)) FROM (SELECT name, type FROM system.columns"
                 " WHERE database = {db:String} AND table = {t:String} ORDER BY position)),"
                 " (SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String})")
        live, new = (wh.rows(query, {"db": wh.database, "t": t})[0] for t in (TABLE, probe))
        return live == new
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

        patched = (0, 0)
        if reason:
            replace_table(wh, TABLE, build)
            written = wh.row_count(TABLE)
        else:
            written = _replace_months(wh, months, build)
            patched = _patch_attributes(wh, since)
    finally:
        for name in (months_table, candidates):
            wh.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
    return FactRefresh(full=reason is not None, reason=reason, months=months, rows_written=written,
                       customers_patched=patched[0], products_patched=patched[1],
                       seconds=round(time.monotonic() - started, 3))


def _patch_attributes(wh: Warehouse, since: dict) -> tuple[int, int]:
    """Patch changed customers' and products' attributes into every sale of theirs."""
    customers_join, products_join = staging_name("customers_join"), staging_name("products_join")
    try:
        run_script(
            wh, sql_file(__file__, "sales_fact_attributes"),
            {**since, "customers_join": f"{wh.database}.{customers_join}",
             "products_join": f"{wh.database}.{products_join}"},
            customers_join=customers_join, products_join=products_join,
        )
        return (int(wh.scalar(f"SELECT count() FROM {quote_identifier(customers_join)}")),
                int(wh.scalar(f"SELECT count() FROM {quote_identifier(products_join)}")))
    finally:
        for name in (customers_join, products_join):
            wh.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")


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
