"""sales_fact refresh: apply what changed, never rebuild what did not.

Changes are found by `_synced_at`, the time a row version arrived in ClickHouse (tombstones and
rows without an `updated_at` included), since the marks stored in `sales_fact_state` by the last
refresh that finished. The changed sales' current rows are built aside with the same SQL as a
full build, then applied: deletes and day moves as a patch-part DELETE, changes as a lightweight
UPDATE, new sales as an INSERT. Changed customers and products are patched into every sale of
theirs with lightweight UPDATEs (a customer's history spans every month: a partition rewrite for
a handful of moves would cost a full rebuild). The state is written last, so a refresh that fails
half-way is re-applied whole (every step is idempotent). Until then an `_applying` row in the
state says the fact is part-applied, and the tables built from it refuse to build (their previous
version stays: warehouse/guards.py). No state yet, a replica rebuilt by a full resync, a schema
change or `full_rebuild`: the whole table is built aside and swapped in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from analytics_assets.ingest.replicate import utc
from analytics_assets.ingest.sources import CUSTOMERS, PRODUCTS, SALES
from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.warehouse import replace_table
from analytics_assets.warehouse.guards import PartlyApplied, register_guard
from analytics_assets.warehouse.identifiers import quote_identifier
from analytics_assets.warehouse.sql import render_sql, run_script, sql_file
from analytics_assets.warehouse.tables import scratch_tables

TABLE = "sales_fact"
STATE = "sales_fact_state"
APPLYING = "_applying"  # a state row while changes are applied in place; the new state drops it
REPLICAS = {SALES.replica: "sales_since", CUSTOMERS.replica: "customers_since", PRODUCTS.replica: "products_since"}


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


def _create(wh: Warehouse, table: str, definition: str = "sales_fact_table") -> None:
    wh.command(render_sql(sql_file(__file__, definition), target=table))


def _schema_matches(wh: Warehouse) -> bool:
    with scratch_tables(wh, f"{TABLE}_schema") as (probe,):
        _create(wh, probe)
        query = ("SELECT (SELECT groupArray((name, type)) FROM (SELECT name, type FROM system.columns"
                 " WHERE database = {db:String} AND table = {t:String} ORDER BY position)),"
                 " (SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String})")
        live, new = (wh.rows(query, {"db": wh.database, "t": t})[0] for t in (TABLE, probe))
        return live == new


def _replica_marks(wh: Warehouse) -> dict[str, tuple[str, datetime | None]]:
    """For each replica: the table's UUID and the newest _synced_at it holds."""
    marks = {}
    for replica in REPLICAS:
        uuid = wh.scalar("SELECT toString(uuid) FROM system.tables WHERE database = {db:String} AND name = {t:String}",
                         {"db": wh.database, "t": replica})
        marks[replica] = (uuid, utc(wh.scalar(f"SELECT maxOrNull(_synced_at) FROM {quote_identifier(replica)}")))
    return marks


def _stored_marks(wh: Warehouse) -> dict[str, tuple[str, datetime | None]]:
    if not wh.table_exists(STATE):
        return {}
    rows = wh.rows(f"SELECT replica, toString(table_uuid), synced_through FROM {STATE} WHERE replica != {{a:String}}",
                   {"a": APPLYING})
    return {replica: (uuid, utc(synced)) for replica, uuid, synced in rows}


def _check_complete(wh: Warehouse) -> None:
    if not wh.table_exists(STATE):
        return
    started = wh.scalar(f"SELECT toString(max(synced_through)) FROM {STATE} WHERE replica = {{a:String}}",
                        {"a": APPLYING})
    if started:
        raise PartlyApplied(
            f"{TABLE}: the refresh that started at {started} UTC stopped part-way, so {TABLE} holds part of its "
            f"changes; tables built from it keep their previous version until {TABLE}'s next refresh "
            "(sales_dashboard_job) applies them whole")


register_guard(TABLE, _check_complete)


def _store_marks(wh: Warehouse, marks: dict[str, tuple[str, datetime | None]]) -> None:
    def build(staging: str) -> None:
        _create(wh, staging, "sales_fact_state_table")
        for replica, (uuid, synced) in marks.items():
            wh.command(f"INSERT INTO {quote_identifier(staging)} VALUES"
                       " ({r:String}, {u:UUID}, {s:Nullable(DateTime64(6, 'UTC'))})",
                       {"r": replica, "u": uuid, "s": synced})

    replace_table(wh, STATE, build)


def _full_rebuild_reason(wh: Warehouse, requested: bool, marks: dict, stored: dict) -> str | None:
    if requested:
        return "requested"
    if not wh.table_exists(TABLE):
        return "table missing"
    if not stored:
        return "no refresh state"
    rebuilt = [r for r in REPLICAS if stored.get(r, (None,))[0] != marks[r][0]]
    if rebuilt:
        return f"replica rebuilt: {', '.join(rebuilt)}"
    return None if _schema_matches(wh) else "schema changed"


def refresh_sales_fact(wh: Warehouse, *, full_rebuild: bool = False,
                       lookback: timedelta = timedelta(0)) -> FactRefresh:
    started = time.monotonic()
    marks = _replica_marks(wh)  # taken first: whatever arrives later is applied next time
    stored = _stored_marks(wh)
    reason = _full_rebuild_reason(wh, full_rebuild, marks, stored)
    if reason:
        def build(staging: str) -> None:
            _create(wh, staging)
            run_script(wh, sql_file(__file__, "sales_fact"), sales="raw_sales", target=staging)

        replace_table(wh, TABLE, build)
        counts = (wh.row_count(TABLE), 0, 0, 0, 0)
    else:
        # Ingest runs of one replica never overlap (a pool), so every row attached after the
        # marks were taken was synced after them too; `lookback` is a safety knob.
        since = {
            REPLICAS[replica]: (synced - lookback) if synced else datetime(1970, 1, 1, tzinfo=timezone.utc)
            for replica, (_, synced) in stored.items()
        }
        # Changes are applied in place, step by step: say so until the new state replaces this row.
        wh.insert_rows(STATE, [(APPLYING, "00000000-0000-0000-0000-000000000000", datetime.now(timezone.utc))],
                       ["replica", "table_uuid", "synced_through"])
        counts = (*_apply_sales(wh, since), *_patch_attributes(wh, since))
    _store_marks(wh, marks)
    return FactRefresh(reason is not None, reason, *counts, seconds=round(time.monotonic() - started, 3))


def _apply_sales(wh: Warehouse, since: dict) -> tuple[int, int, int]:
    """(new, changed in place, removed) sales applied to the fact."""
    with scratch_tables(wh, "sales_changed", "sales_current", "sales_existing", "sales_join") as names:
        changed, current, existing, current_join = names
        q = {name: quote_identifier(name) for name in names}
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


def _patch_attributes(wh: Warehouse, since: dict) -> tuple[int, int]:
    """Patch changed customers' and products' attributes into every sale of theirs."""
    with scratch_tables(wh, "customers_join", "products_join") as (customers_join, products_join):
        run_script(
            wh, sql_file(__file__, "sales_fact_attributes"),
            {**since, "customers_join": f"{wh.database}.{customers_join}",
             "products_join": f"{wh.database}.{products_join}"},
            customers_join=customers_join, products_join=products_join,
        )
        return (int(wh.scalar(f"SELECT count() FROM {quote_identifier(customers_join)}")),
                int(wh.scalar(f"SELECT count() FROM {quote_identifier(products_join)}")))
