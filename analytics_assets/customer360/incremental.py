"""customer_360, refreshed for the customers that changed instead of rebuilt over the whole fact.

customer_360 keeps its own copy of sales_fact's completed sales sorted by customer
(`customer_360_sales`, with `customer_360_sale_index` to find a sale's previous customer and day),
and the fact's counted sales per day (`customer_360_sales_days`, for the reconcile gate). An
hourly delta finds what changed since the last build from sales_fact_state's marks as they were
then (the replicas' `_synced_at`, as sales_fact finds its own changes), reads those sales' rows
from the fact (only their days), and recomputes the touched customers with the same SQL as a full
build (customer_360.sql); every other row is the previous version's, moved to the new logical
time. The new version is built aside from the previous one's parts (no copy), gated and swapped
in, as before. A full build (first run, `full_rebuild`, a replica rebuilt, a new segmentation, a
refresh that stopped part-way) builds everything from the fact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from analytics_assets.ingest.replicate import utc
from analytics_assets.sales.fact import APPLYING as FACT_APPLYING
from analytics_assets.sales.fact import REPLICAS
from analytics_assets.sales.fact import STATE as FACT_STATE
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.sql import render_sql, run_script, sql_file, sql_fragment
from analytics_assets.warehouse.tables import replace_table, scratch_tables

TABLE = "customer_360"
SALES = "customer_360_sales"
SALE_INDEX = "customer_360_sale_index"
SALES_DAYS = "customer_360_sales_days"
PRODUCTS = "customer_360_products"
STATE = "customer_360_state"
OWN_TABLES = (SALES, SALE_INDEX, SALES_DAYS, PRODUCTS)
LAYOUT = "_layout_2"  # a new layout of these tables: the next refresh builds everything
AS_OF = "_as_of"
SEGMENTS = "_segments"
APPLYING = "_applying"
NO_UUID = "00000000-0000-0000-0000-000000000000"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# A version with more parts than this is merged before it is swapped in (each delta adds one).
MAX_PARTS = 12

Marks = dict[str, tuple[str, datetime | None]]


@dataclass(frozen=True)
class Refresh:
    full: bool
    reason: str | None
    changed_sales: int  # sales whose rows were read again from the fact (a full build: all)
    customers_recomputed: int


def _file(name: str) -> str:
    return sql_file(__file__, name)


def _create(wh, name: str, target: str, params: Mapping[str, Any] | None = None, **identifiers: str) -> None:
    """Create `target` with the CREATE ... AS SELECT of `name`.sql."""
    wh.command(render_sql(_file(name), target=target, **identifiers), dict(params or {}))


def _uuid(wh, table: str) -> str:
    return wh.table_uuid(table) or NO_UUID


def _fact_marks(wh) -> Marks:
    rows = wh.rows(f"SELECT replica, toString(table_uuid), synced_through FROM {FACT_STATE}"
                   " WHERE replica != {a:String}", {"a": FACT_APPLYING}) if wh.table_exists(FACT_STATE) else []
    return {replica: (uuid, utc(synced)) for replica, uuid, synced in rows}


def _stored(wh) -> Marks:
    if not wh.table_exists(STATE):
        return {}
    return {name: (uuid, utc(synced)) for name, uuid, synced in
            wh.rows(f"SELECT name, toString(table_uuid), synced_through FROM {STATE}")}


def _mark(wh, name: str, uuid: str = NO_UUID, synced: datetime | None = None, table: str = STATE) -> None:
    wh.command(f"INSERT INTO {quote_identifier(table)} VALUES"
               " ({n:String}, {u:UUID}, {s:Nullable(DateTime64(6, 'UTC'))})", {"n": name, "u": uuid, "s": synced})


def _store(wh, marks: Marks) -> None:
    def build(staging: str) -> None:
        wh.command(render_sql(_file("customer_360_state_table"), target=staging))
        for name, (uuid, synced) in marks.items():
            _mark(wh, name, uuid, synced, table=staging)

    replace_table(wh, STATE, build)


def _full_reason(wh, requested: bool, stored: Marks, fact: Marks, segments: str) -> str | None:
    if requested:
        return "requested"
    if not wh.table_exists(TABLE):
        return "table missing"
    if LAYOUT not in stored or AS_OF not in stored:
        return "no refresh state"
    if APPLYING in stored:
        return "the last refresh stopped part-way"
    missing = [t for t in OWN_TABLES if not wh.table_exists(t)]
    if missing:
        return f"missing: {', '.join(missing)}"
    rebuilt = [r for r in REPLICAS if stored.get(r, (None,))[0] != fact.get(r, (None,))[0]]
    if rebuilt:
        return f"replica rebuilt: {', '.join(rebuilt)}"
    if stored.get(SEGMENTS, (None,))[0] != segments:
        return "new customer segmentation"
    return None


def refresh_customer_360(wh, params: Mapping[str, Any], segments: str, *, full_rebuild: bool,
                         gates: Callable[[str], None]) -> Refresh:
    """Refresh customer_360 for the logical time in `params` (as_of, as_of_date), reading
    `segments` as customer_segments (the table, or a stand-in); `gates(staging)` may refuse the
    new version, which then is not swapped in (raises)."""
    fact = _fact_marks(wh)  # taken first: whatever sales_fact applies later is read next time
    stored = _stored(wh)
    segments_uuid = _uuid(wh, "customer_segments")
    reason = _full_reason(wh, full_rebuild, stored, fact, segments_uuid)
    if wh.table_exists(STATE):
        _mark(wh, APPLYING, synced=datetime.now(timezone.utc))  # until the new state replaces it
    with scratch_tables(wh, "engagement") as (engagement,):
        _create(wh, "customer_360_engagement", engagement, params)
        if reason:
            result = _full(wh, params, segments, engagement, gates, reason)
        else:
            result = _delta(wh, params, stored, fact, segments, engagement, gates)
    _store(wh, {**fact, AS_OF: (NO_UUID, params["as_of"]), SEGMENTS: (segments_uuid, None), LAYOUT: (NO_UUID, None)})
    return result


def _full(wh, params, segments: str, engagement: str, gates, reason: str) -> Refresh:
    for table, name, source in ((SALES, "customer_360_sales", "sales_fact"),
                                (SALE_INDEX, "customer_360_sale_index", SALES),
                                (SALES_DAYS, "customer_360_sales_days", "sales_fact"),
                                (PRODUCTS, "customer_360_products", "raw_products")):
        replace_table(wh, table, lambda staging: _create(wh, name, staging, source=source))

    with scratch_tables(wh, "completed") as (completed,):
        wh.command(f"CREATE VIEW {quote_identifier(completed)} AS SELECT * FROM sales_fact"
                   f" WHERE {sql_fragment('sales/completed_sale')}")

        def build(staging: str) -> None:
            _create(wh, "customer_360", staging, params, sales=completed, customers="raw_customers",
                    customer_segments=segments, engagement=engagement)

        replace_table(wh, TABLE, build, gates)
    return Refresh(True, reason, wh.row_count(SALES), wh.row_count(TABLE))


def _delta(wh, params, stored: Marks, fact: Marks, segments: str, engagement: str, gates) -> Refresh:
    since = {column: stored.get(replica, (None, None))[1] or EPOCH for replica, column in REPLICAS.items()}
    before, now = stored[AS_OF][1], params["as_of"]
    moved = {"from": min(before, now), "to": max(before, now),
             "from_date": min(before, now).date(), "to_date": max(before, now).date()}
    names = ("changed", "products_now", "old", "fact_days", "fresh_source", "fresh", "fresh_index", "touched",
             "days", "days_source", "fresh_days", "sales_now", "rows")
    with scratch_tables(wh, *names) as scratch:
        t = dict(zip(names, scratch))
        run_script(wh, _file("customer_360_changes"), since, sales=SALES, sale_index=SALE_INDEX,
                   changed=t["changed"], old=t["old"])
        q = {key: quote_identifier(name) for key, name in t.items()}
        _create(wh, "customer_360_products", t["products_now"])
        if wh.scalar(f"SELECT (SELECT count() FROM (SELECT * FROM {q['products_now']} EXCEPT SELECT * FROM {PRODUCTS}))"
                     f" + (SELECT count() FROM (SELECT * FROM {PRODUCTS} EXCEPT SELECT * FROM {q['products_now']}))"):
            run_script(wh, _file("customer_360_changed_products"), changed=t["changed"],
                       products_now=t["products_now"])
        # The fact holds each changed sale on the day of its current replica version, once it has
        # applied every version the replica holds; otherwise on a day only the fact knows.
        caught_up = _caught_up(wh, fact)
        wh.command(f"CREATE TABLE {q['fact_days']} ENGINE = Memory AS "
                   + (f"SELECT sale_day FROM {q['changed']} UNION DISTINCT SELECT sale_day FROM {q['old']}"
                      if caught_up else "SELECT DISTINCT sale_day FROM sales_fact"))
        wh.command(f"CREATE VIEW {q['fresh_source']} AS SELECT * FROM sales_fact"
                   f" WHERE sale_day IN (SELECT sale_day FROM {q['fact_days']})"
                   f" AND sale_id IN (SELECT sale_id FROM {q['changed']})")
        _create(wh, "customer_360_sales", t["fresh"], source=t["fresh_source"])
        _create(wh, "customer_360_sale_index", t["fresh_index"], source=t["fresh"])
        run_script(wh, _file("customer_360_touched"), {**since, **moved}, old=t["old"], fresh=t["fresh"],
                   engagement=engagement, touched=t["touched"], days=t["days"])
        wh.command(f"CREATE VIEW {q['days_source']} AS SELECT * FROM sales_fact"
                   f" WHERE sale_day IN (SELECT sale_day FROM {q['days']})")
        _create(wh, "customer_360_sales_days", t["fresh_days"], source=t["days_source"])
        version = int(wh.scalar(f"SELECT max(version) FROM {SALE_INDEX}")) + 1
        run_script(wh, _file("customer_360_apply"), {"version": version}, old=t["old"], changed=t["changed"], fresh=t["fresh"],
                   fresh_index=t["fresh_index"], days=t["days"], fresh_days=t["fresh_days"])
        replace_table(wh, PRODUCTS, lambda staging: wh.command(
            f"CREATE TABLE {quote_identifier(staging)} ENGINE = MergeTree ORDER BY product_id"
            f" AS SELECT * FROM {q['products_now']}"))
        _create(wh, "customer_360_sales_now", t["sales_now"], touched=t["touched"])
        _create(wh, "customer_360", t["rows"], params, sales=t["sales_now"], customers=t["touched"],
                customer_segments=segments, engagement=engagement)

        def build(staging: str) -> None:
            wh.command(f"CREATE TABLE {quote_identifier(staging)} AS {TABLE}")
            wh.command(f"ALTER TABLE {quote_identifier(staging)} ATTACH PARTITION tuple() FROM {TABLE}")
            run_script(wh, _file("customer_360_as_of"), params, target=staging)
            wh.command(f"DELETE FROM {quote_identifier(staging)} WHERE customer_id IN"
                       f" (SELECT customer_id FROM {q['touched']})")
            wh.command(f"INSERT INTO {quote_identifier(staging)} SELECT * FROM {q['rows']}")
            parts = wh.scalar("SELECT count() FROM system.parts WHERE database = {db:String} AND table = {t:String}"
                              " AND active", {"db": wh.database, "t": staging})
            if parts > MAX_PARTS:
                wh.command(f"OPTIMIZE TABLE {quote_identifier(staging)} FINAL")

        replace_table(wh, TABLE, build, gates)
        return Refresh(False, None, int(wh.scalar(f"SELECT uniqExact(sale_id) FROM {q['changed']}")),
                       int(wh.scalar(f"SELECT uniqExact(customer_id) FROM {q['touched']}")))


def _caught_up(wh, fact: Marks) -> bool:
    """sales_fact has applied every sale version raw_sales holds (the hourly job: ingest, then the fact)."""
    held = utc(wh.scalar("SELECT maxOrNull(_synced_at) FROM raw_sales"))
    return "raw_sales" in fact and held == fact["raw_sales"][1]
