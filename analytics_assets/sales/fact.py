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

`sales_fact_daily` (sales_by_day.sql per day) is kept in the same refresh for the days the
changes touched, so the day-grained marts read a few hundred rows instead of the fact. After a
full build, a part-applied refresh or a schema change it is rebuilt whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from analytics_assets.ingest.replicate import utc
from analytics_assets.ingest.sources import CUSTOMERS, PRODUCTS, SALES
from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.warehouse import replace_table
from analytics_assets.warehouse.guards import PartlyApplied
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.sql import render_sql, run_script, sql_file
from analytics_assets.warehouse.tables import scratch_tables

TABLE = "sales_fact"
STATE = "sales_fact_state"
DAILY = "sales_fact_daily"
# sales_fact_daily has no cut-off: every sale with a sale_date (DateTime64(6)'s last second).
NO_CUTOFF = datetime(2299, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
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
    days_refreshed: int
    seconds: float


def _create(wh: Warehouse, table: str, definition: str = "sales_fact_table") -> None:
    wh.command(render_sql(sql_file(__file__, definition), target=table))


def _schema_matches(wh: Warehouse, table: str = TABLE, definition: str = "sales_fact_table") -> bool:
    with scratch_tables(wh, f"{table}_schema") as (probe,):
        _create(wh, probe, definition)
        query = ("SELECT (SELECT groupArray((name, type)) FROM (SELECT name, type FROM system.columns"
                 " WHERE database = {db:String} AND table = {t:String} ORDER BY position)),"
                 " (SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String})")
        live, new = (wh.rows(query, {"db": wh.database, "t": t})[0] for t in (table, probe))
        return live == new


def _replica_marks(wh: Warehouse) -> dict[str, tuple[str, datetime | None]]:
    """For each replica: the table's UUID and the newest _synced_at it holds."""
    marks = {}
    for replica in REPLICAS:
        marks[replica] = (wh.table_uuid(replica), utc(wh.scalar(f"SELECT maxOrNull(_synced_at) FROM {quote_identifier(replica)}")))
    return marks


def stored_marks(wh: Warehouse) -> dict[str, tuple[str, datetime | None]]:
    if not wh.table_exists(STATE):
        return {}
    rows = wh.rows(f"SELECT replica, toString(table_uuid), synced_through FROM {STATE} WHERE replica != {{a:String}}",
                   {"a": APPLYING})
    return {replica: (uuid, utc(synced)) for replica, uuid, synced in rows}


def check_complete(wh: Warehouse) -> None:
    """The guard of sales_fact (warehouse/guards.py GUARDED): raises PartlyApplied while part-applied."""
    started = _part_applied_since(wh)
    if started:
        raise PartlyApplied(
            f"{TABLE}: the refresh that started at {started} UTC stopped part-way, so {TABLE} holds part of its "
            f"changes; tables built from it keep their previous version until {TABLE}'s next refresh "
            "(sales_dashboard_job) applies them whole")



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
    stored = stored_marks(wh)
    reason = _full_rebuild_reason(wh, full_rebuild, marks, stored)
    if reason:
        def build(staging: str) -> None:
            _create(wh, staging)
            run_script(wh, sql_file(__file__, "sales_fact"), sales="raw_sales", target=staging)

        replace_table(wh, TABLE, build)
        counts = (wh.row_count(TABLE), 0, 0, 0, 0)
        touched = None
    else:
        # Ingest runs of one replica never overlap (a pool), so every row attached after the
        # marks were taken was synced after them too; `lookback` is a safety knob.
        since = {
            REPLICAS[replica]: (synced - lookback) if synced else datetime(1970, 1, 1, tzinfo=timezone.utc)
            for replica, (_, synced) in stored.items()
        }
        # A refresh that stopped part-way may have moved sales off days it did not record.
        part_applied = _part_applied_since(wh) is not None
        # Changes are applied in place, step by step: say so until the new state replaces this row.
        wh.insert_rows(STATE, [(APPLYING, "00000000-0000-0000-0000-000000000000", datetime.now(timezone.utc))],
                       ["replica", "table_uuid", "synced_through"])
        with scratch_tables(wh, "touched_days") as (touched_days,):
            wh.command(f"CREATE TABLE {quote_identifier(touched_days)} (sale_day Date32) ENGINE = Memory")
            new, in_place, removed = _apply_sales(wh, since, touched_days)
            customers, products = _patch_attributes(wh, since, touched_days)
            touched = set(wh.scalar(f"SELECT groupUniqArray(sale_day) FROM {quote_identifier(touched_days)}"))
        counts = (new, in_place, removed, customers, products)
        if part_applied:
            touched = None
    days = _refresh_daily(wh, touched)
    _store_marks(wh, marks)
    return FactRefresh(reason is not None, reason, *counts, days_refreshed=days,
                       seconds=round(time.monotonic() - started, 3))


def ensure_daily(wh: Warehouse) -> None:
    """Build sales_fact_daily whole if it is missing (sales_fact was built before it existed)."""
    if not wh.table_exists(DAILY):
        _refresh_daily(wh, None)


def _refresh_daily(wh: Warehouse, touched: set | None) -> int:
    """Recompute sales_fact_daily's rows for the `touched` days (None: every day, built aside and
    swapped in). A touched day without completed sales any more becomes a tombstone."""
    if touched is not None and wh.table_exists(DAILY) and _schema_matches(wh, DAILY, "sales_fact_daily_table"):
        if touched:
            insert_days(wh, DAILY, sorted(touched))
        return len(touched)
    days = sorted(wh.scalar(f"SELECT groupUniqArray(sale_day) FROM {TABLE}"))

    def build(staging: str) -> None:
        _create(wh, staging, "sales_fact_daily_table")
        insert_days(wh, staging, days)

    replace_table(wh, DAILY, build)
    return len(days)


def insert_days(wh: Warehouse, table: str, days: list, *, before: datetime = NO_CUTOFF,
                versioned: bool = True) -> None:
    """sales_by_day.sql's rows for `days` (sales before `before`) into `table`. Versioned (for
    sales_fact_daily): every day gets a row, a day without completed sales a tombstone."""
    by_day = sql_file(__file__, "sales_by_day")
    if versioned:
        select = (f"SELECT d.sale_day, r.* EXCEPT sale_day, now64(6, 'UTC'), r.completed_orders = 0"
                  f" FROM (SELECT arrayJoin({{days:Array(Date32)}}) AS sale_day) AS d"
                  f" LEFT JOIN ({by_day}) AS r ON r.sale_day = d.sale_day SETTINGS join_use_nulls = 0")
    else:
        select = by_day
    wh.command(f"INSERT INTO {quote_identifier(table)} {select}", {"days": days, "as_of": before})


def _part_applied_since(wh: Warehouse) -> str | None:
    if not wh.table_exists(STATE):
        return None
    return wh.scalar(f"SELECT toString(max(synced_through)) FROM {STATE} WHERE replica = {{a:String}}",
                     {"a": APPLYING}) or None


def _apply_sales(wh: Warehouse, since: dict, touched_days: str) -> tuple[int, int, int]:
    """(new, changed in place, removed) sales applied to the fact; their days, before and after,
    go to the table `touched_days`."""
    with scratch_tables(wh, "sales_changed", "sales_current", "sales_existing", "sales_join") as names:
        changed, current, existing, current_join = names
        q = {name: quote_identifier(name) for name in names}
        wh.command(f"CREATE TABLE {q[changed]} AS raw_sales")
        run_script(wh, sql_file(__file__, "sales_fact_changes"), since, changed=changed)
        if not wh.scalar(f"SELECT count() FROM {q[changed]}"):
            return 0, 0, 0
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
        wh.command(f"INSERT INTO {quote_identifier(touched_days)} SELECT sale_day FROM {q[current]}"
                   f" UNION ALL SELECT sale_day FROM {q[existing]}")
        run_script(wh, sql_file(__file__, "sales_fact_apply"),
                   {"current_join": f"{wh.database}.{current_join}"},
                   existing=existing, current=current, current_join=current_join)
        return int(new), int(in_place), int(removed)


def _patch_attributes(wh: Warehouse, since: dict, touched_days: str) -> tuple[int, int]:
    """Patch changed customers' and products' attributes into every sale of theirs; the days
    whose sales_fact_daily row changes with them go to the table `touched_days`."""
    with scratch_tables(wh, "customers_join", "products_join") as (customers_join, products_join):
        run_script(
            wh, sql_file(__file__, "sales_fact_attributes"),
            {**since, "customers_join": f"{wh.database}.{customers_join}",
             "products_join": f"{wh.database}.{products_join}"},
            customers_join=customers_join, products_join=products_join, touched_days=touched_days,
        )
        return (int(wh.scalar(f"SELECT count() FROM {quote_identifier(customers_join)}")),
                int(wh.scalar(f"SELECT count() FROM {quote_identifier(products_join)}")))
