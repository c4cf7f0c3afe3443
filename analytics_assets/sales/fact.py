"""sales_fact refresh: apply what changed, never rebuild what did not.

What changed is read from the replicas by version: sales newer than the newest version the fact
holds (tombstones included), and customers or products newer than theirs, each minus a
look-back that matches the ingest's. The changed sales' current rows are built aside with the
same SQL as a full build, then applied: deletes (and day moves) as a lightweight DELETE, changes
as a lightweight UPDATE, new sales as an INSERT. Changed customers and products are patched into
every sale of theirs with lightweight UPDATEs (a customer's history spans every month: a
partition rewrite for a handful of moves would cost a full rebuild). The first build, a schema
change, or `full_rebuild` builds the whole table aside and swaps it in.
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
    new_sales: int
    changed_sales: int
    removed_sales: int
    customers_patched: int
    products_patched: int
    seconds: float


def _since(wh: Warehouse, column: str, lookback: timedelta) -> datetime:
    value = wh.scalar(f"SELECT maxOrNull({quote_identifier(column)}) FROM {TABLE}")
    if value is None:
        return EPOCH
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    return max(EPOCH, value - lookback)


def _create(wh: Warehouse, table: str) -> None:
    wh.command(render_sql(sql_file(__file__, "sales_fact_table"), target=table))


def _schema_matches(wh: Warehouse) -> bool:
    probe = staging_name(f"{TABLE}_schema")
    _create(wh, probe)
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
    reason = ("requested" if full_rebuild else "table missing" if not wh.table_exists(TABLE)
              else None if _schema_matches(wh) else "schema changed")
    if reason:
        def build(staging: str) -> None:
            _create(wh, staging)
            run_script(wh, sql_file(__file__, "sales_fact"), sales="raw_sales", target=staging)

        replace_table(wh, TABLE, build)
        counts = (wh.row_count(TABLE), 0, 0, 0, 0)
    else:
        since = {
            "sales_since": _since(wh, "updated_at", lookback),
            "customers_since": _since(wh, "customer_updated_at", lookback),
            "products_since": _since(wh, "product_updated_at", lookback),
        }
        counts = (*_apply_sales(wh, since), *_patch_attributes(wh, since))
    return FactRefresh(reason is not None, reason, *counts, seconds=round(time.monotonic() - started, 3))


def _apply_sales(wh: Warehouse, since: dict) -> tuple[int, int, int]:
    """(new, changed in place, removed) sales applied to the fact."""
    changed, current, existing, current_join = (
        staging_name(f"{TABLE}_{n}") for n in ("changed", "current", "existing", "join"))
    q = {name: quote_identifier(name) for name in (changed, current, existing)}
    try:
        wh.command(f"CREATE TABLE {q[changed]} AS raw_sales")
        run_script(wh, sql_file(__file__, "sales_fact_changes"), since, changed=changed)
        _create(wh, current)
        run_script(wh, sql_file(__file__, "sales_fact"), sales=changed, target=current)
        wh.command(f"CREATE TABLE {q[existing]} ENGINE = Memory AS SELECT sale_id, sale_day FROM {TABLE}"
                   f" WHERE sale_id IN (SELECT sale_id FROM {q[changed]})")
        (new, in_place, removed), = wh.rows(
            f"SELECT"
            f" (SELECT count() FROM {q[current]} WHERE sale_id NOT IN (SELECT sale_id FROM {q[existing]})),"
            f" (SELECT count() FROM {q[current]} WHERE (sale_id, sale_day) IN (SELECT sale_id, sale_day FROM {q[existing]})),"
            f" (SELECT count() FROM {q[existing]} WHERE (sale_id, sale_day) NOT IN (SELECT sale_id, sale_day FROM {q[current]}))"
        )
        run_script(wh, sql_file(__file__, "sales_fact_apply"),
                   {"current_join": f"{wh.database}.{current_join}"},
                   existing=existing, current=current, current_join=current_join)
        return int(new), int(in_place), int(removed)
    finally:
        for name in (changed, current, existing, current_join):
            wh.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")


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
