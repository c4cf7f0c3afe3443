"""Moving source rows into ClickHouse, two ways behind one setting.

* ``client``: this process streams ``COPY ... TO STDOUT`` out of PostgreSQL in bounded chunks of
  whole rows and hands them to ClickHouse as TabSeparated, which ClickHouse parses natively.
* ``server``: ClickHouse pulls the values itself with the ``postgresql()`` table function; what
  only PostgreSQL can compute (below) comes beside them through ``COPY``.

Whatever the mode, PostgreSQL computes with each row, in the same statement:
  * the value of every column cast to the replica's canonical type (see ``sources``), or NULL
    where ClickHouse cannot hold it (numeric NaN or Infinity, money beyond Decimal(18, 2), an
    integer beyond Int64, a time before year 1 or after 9999), so one bad value never stops the
    feed;
  * ``_source_issues``: why a value was stored as NULL, with its original text, and whether
    ``updated_at`` is ahead of the source's clock;
  * ``_source_clock``: the source's ``now()``, which the watermark never passes;
  * ``_source_hash``: a hash of the row's source values, which the reconcile compares.
Rows whose key is NULL, out of range or shared with another row are never replicated (they would
all become one key, or key 0): ``quarantine_rows`` lists them. Both modes write identical rows
into a staging table; publishing is the caller's business.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import psycopg
from psycopg import sql

from analytics_assets.ingest.sources import (
    CLOCK_COLUMN,
    HASH_COLUMN,
    ISSUES_COLUMN,
    VERSION_COLUMN,
    Column,
    SourceTable,
)
from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.resources.postgres import PostgresResource
from analytics_assets.settings import SettingError
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.tables import scratch_tables

TransferMode = Literal["server", "client"]
TRANSFER_MODES: tuple[TransferMode, ...] = ("server", "client")

UTC_NAMES = {"utc", "etc/utc", "etc/universal", "universal", "zulu", "etc/zulu", "gmt", "etc/gmt", "gmt0"}
INTEGER_TYPES = {"smallint", "integer", "bigint"}
# The largest magnitudes the replica's types hold: Decimal(18, 2) after rounding to cents, Int64.
MONEY_LIMIT = "9999999999999999.995"
INT_LIMIT = "9223372036854775807"
# Times ClickHouse can parse: years 1 to 9999 (PostgreSQL goes to 294276, and BC).
TIME_RANGE = ("0001-01-01", "10000-01-01")
# In `_source_issues`: a value stored as NULL (server mode reads such rows through COPY instead).
UNSTORABLE = " cannot be stored "


class SourceSchemaError(ValueError):
    """The source table lacks something the replica needs; the message names table and column."""


@dataclass(frozen=True)
class Window:
    """Which source rows to read: those with updated_at after `since` (None: all of them), or
    exactly the rows with these `keys` (a repair)."""

    since: datetime | None = None
    keys: Sequence[int] | None = None


@dataclass(frozen=True)
class Source:
    """One source table as this pull sees it: where it is, its columns' types, and whether
    PostgreSQL itself keeps its key present and unique (then nothing needs guarding)."""

    table: SourceTable
    schema: str
    types: dict[str, str]
    key_enforced_by: str | None
    server_version: int
    future_tolerance: timedelta = timedelta(minutes=5)

    @property
    def relation(self) -> sql.Composable:
        return relation(self.schema, self.table)


def relation(schema: str, table: SourceTable) -> sql.Composable:
    """`schema.table` of the source, quoted."""
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table.name))


def inspect_source(conn: psycopg.Connection, table: SourceTable, schema: str,
                   future_tolerance: timedelta = timedelta(minutes=5)) -> Source:
    """Read the table's column types and key constraint; fail naming table and column when the
    source lacks a required column."""
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (schema, table.name),
    ).fetchall()
    if not rows:
        raise SourceSchemaError(f"source table {schema}.{table.name} does not exist")
    types = dict(rows)
    missing = [name for name in table.column_names if name not in types]
    if missing:
        raise SourceSchemaError(
            f"source table {schema}.{table.name} is missing required column(s): {', '.join(missing)}"
        )
    enforced = key_enforced_by(conn, table, schema) if types[table.key] in INTEGER_TYPES else None
    return Source(table, schema, types, enforced, conn.info.server_version, future_tolerance)


def key_enforced_by(conn: psycopg.Connection, table: SourceTable, schema: str) -> str | None:
    """The unique index that keeps the key unique, when the key is also NOT NULL (a primary key
    is both); None when PostgreSQL enforces neither or only one."""
    row = conn.execute(
        "SELECT i.indexrelid::regclass::text FROM pg_index i"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indnatts = 1"
        " AND i.indpred IS NULL AND a.attname = %s AND a.attnotnull LIMIT 1",
        (relation(schema, table).as_string(conn), table.key),
    ).fetchone()
    return row[0] if row else None


# --- what PostgreSQL computes for each row -------------------------------------------------------

def _numeric_guard(c: sql.Composable, limit: str) -> sql.Composable:
    """True when the value fits; NaN and Infinity compare above every number in PostgreSQL."""
    return sql.SQL("abs({c}::numeric) < " + limit).format(c=c)


def _time_guard(c: sql.Composable, cast: str) -> sql.Composable:
    return sql.SQL("{c}::" + cast + " >= %(t0)s::" + cast + " AND {c}::" + cast + " < %(t1)s::" + cast).format(c=c)


def _value(source: Source, column: Column) -> tuple[sql.Composable, sql.Composable | None]:
    """(the canonical value or NULL, the condition under which the stored value is the source's)."""
    c = sql.Identifier(column.name)
    kind = column.kind
    if kind in ("key", "int"):
        if source.types[column.name] in INTEGER_TYPES:
            return sql.SQL("{c}::bigint").format(c=c), None
        ok = _numeric_guard(c, INT_LIMIT)
        return sql.SQL("CASE WHEN {ok} THEN {c}::numeric::bigint END").format(ok=ok, c=c), ok
    if kind == "money":
        # round() on numeric rounds half away from zero, as ClickHouse's round() on Decimal does.
        ok = _numeric_guard(c, MONEY_LIMIT)
        return sql.SQL("CASE WHEN {ok} THEN round({c}::numeric, 2) END").format(ok=ok, c=c), ok
    if kind in ("text", "category"):
        return sql.SQL("{c}::text").format(c=c), None
    if kind == "date":
        ok = _time_guard(c, "date")
        return sql.SQL("CASE WHEN {ok} THEN {c}::date END").format(ok=ok, c=c), ok
    # UTC wall-clock text: a timestamptz is converted, a plain timestamp is taken as UTC (the
    # session's TimeZone is UTC), a date is its midnight. 'infinity' fails the range test.
    ok = _time_guard(c, "timestamptz")
    return sql.SQL("CASE WHEN {ok} THEN ({c}::timestamptz AT TIME ZONE 'UTC') END").format(ok=ok, c=c), ok


def _select_list(source: Source) -> tuple[list[sql.Composable], list[sql.Composable]]:
    """The replica's columns as PostgreSQL expressions, and the issue texts (NULL when none)."""
    values, issues = [], []
    for column in source.table.columns:
        value, ok = _value(source, column)
        values.append(value)
        if ok is not None:
            issues.append(sql.SQL(
                "CASE WHEN {c} IS NOT NULL AND NOT ({ok}) THEN {name} || ' ' || {c}::text || {unstorable} END"
            ).format(c=sql.Identifier(column.name), ok=ok, name=sql.Literal(column.name),
                     unstorable=sql.Literal(UNSTORABLE + "(stored as NULL)")))
    v = sql.Identifier(VERSION_COLUMN)
    version_ok = _time_guard(v, "timestamptz")
    # NULL, infinite or out of range: the oldest version, read again at every run.
    values.append(sql.SQL("(CASE WHEN {ok} THEN {v}::timestamptz ELSE 'epoch' END AT TIME ZONE 'UTC')")
                  .format(ok=version_ok, v=v))
    issues.append(sql.SQL(
        "CASE WHEN {v} IS NOT NULL AND NOT ({ok}) THEN 'updated_at ' || {v}::text || {unstorable}"
        " WHEN {v}::timestamptz > now() + %(tolerance)s THEN 'updated_at ' || {v}::text"
        " || ' is ahead of the source clock ' || now()::text END"
    ).format(v=v, ok=version_ok, unstorable=sql.Literal(UNSTORABLE + "(stored as 1970-01-01)")))
    return values, issues


def key_value(source: Source) -> sql.Composable:
    """The key as the replica stores it (Int64)."""
    return _value(source, source.table.key_column)[0]


def row_hash(source: Source) -> sql.Composable:
    """A 64-bit hash of the row's source values, as PostgreSQL computes it (the same at every
    read while the row is unchanged; the reconcile compares it with the one stored)."""
    row = sql.SQL("ROW({})").format(sql.SQL(", ").join(sql.Identifier(n) for n in source.table.column_names))
    if source.server_version >= 140000:
        return sql.SQL("hash_record_extended({}, 0)").format(row)
    return sql.SQL("hashtextextended({}::text, 0)").format(row)  # PostgreSQL 11-13: slower


def key_filter(source: Source) -> sql.Composable:
    """Rows that can be replicated: all of them when PostgreSQL enforces the key, else those
    with a present, in-range key that no other row shares."""
    if source.key_enforced_by:
        return sql.SQL("TRUE")
    k = sql.Identifier(source.table.key)
    in_range = (sql.SQL("TRUE") if source.types[source.table.key] in INTEGER_TYPES
                else _numeric_guard(k, INT_LIMIT))
    return sql.SQL(
        "{k} IS NOT NULL AND {in_range} AND {k} NOT IN"
        " (SELECT {k} FROM {t} WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) > 1)"
    ).format(k=k, in_range=in_range, t=source.relation)


def _parameters(source: Source, window: Window) -> dict:
    return {"t0": TIME_RANGE[0], "t1": TIME_RANGE[1], "tolerance": source.future_tolerance,
            "since": window.since, "keys": list(window.keys or ())}


def _where(source: Source, window: Window) -> sql.Composable:
    v, k = sql.Identifier(VERSION_COLUMN), sql.Identifier(source.table.key)
    conditions = [key_filter(source)]
    if window.since is not None:
        conditions.append(sql.SQL("({v} > %(since)s OR {v} IS NULL)").format(v=v))
    if window.keys is not None:
        conditions.append(sql.SQL("{k} = ANY(%(keys)s::bigint[])").format(k=k))
    return sql.SQL(" AND ").join(conditions)


def source_query(source: Source, window: Window, *, values: bool = True) -> sql.Composable:
    """The rows of `window` as the replica stores them (`values=False`: the key and what only
    PostgreSQL computes: clock, hash, issues)."""
    exprs, issues = _select_list(source)
    if not values:
        exprs = exprs[:1]
    exprs += [
        sql.SQL("now() AT TIME ZONE 'UTC'"),
        row_hash(source),
        sql.SQL("concat_ws('; ', {})").format(sql.SQL(", ").join(issues)),
    ]
    return sql.SQL("SELECT {} FROM {} WHERE {}").format(
        sql.SQL(", ").join(exprs), source.relation, _where(source, window))


def pulled_columns(table: SourceTable, *, values: bool = True) -> list[str]:
    names = table.column_names if values else [table.key]
    return names + [CLOCK_COLUMN, HASH_COLUMN, ISSUES_COLUMN]


def quarantine_query(source: Source) -> sql.Composable:
    """The rows `key_filter` leaves out, each with its reason and its text."""
    t, k = source.relation, sql.Identifier(source.table.key)
    row = sql.SQL("ROW({})::text").format(sql.SQL(", ").join(sql.Identifier(n) for n in source.table.column_names))
    name = source.table.key
    return sql.SQL(
        "SELECT {k}::text, CASE WHEN {k} IS NULL THEN {null_reason}"
        " WHEN n > 1 THEN {name} || ' ' || {k}::text || ' is shared by ' || n || ' rows'"
        " ELSE {name} || ' ' || {k}::text || ' is out of range for Int64' END, {row}"
        " FROM (SELECT *, count(*) OVER (PARTITION BY {k}) AS n FROM {t}) AS s WHERE NOT ({keep})"
    ).format(k=k, null_reason=sql.Literal(f"{name} is NULL"), name=sql.Literal(name), row=row, t=t,
             keep=key_filter(source))


def check_server_timezone(wh: Warehouse, pg: PostgresResource) -> None:
    """A ClickHouse *server* reads timestamptz as text in the source's default TimeZone; only UTC
    is unambiguous. (The embedded engine is given PGTZ=UTC, so this concerns servers only.)"""
    if wh.embedded:
        return
    with pg.connect(utc=False) as conn:
        zone = conn.execute("SHOW TimeZone").fetchone()[0]
    if zone.lower() not in UTC_NAMES:
        user = pg.target().user
        raise SettingError(
            f"transfer_mode 'server': the source's default TimeZone is {zone!r}, so ClickHouse would read "
            f"timestamptz values as {zone} wall-clock times. Run `ALTER ROLE {user} SET timezone = 'UTC'` "
            "on the source, or use transfer_mode 'client'."
        )


# --- client mode: COPY out of PostgreSQL, TabSeparated into ClickHouse ---------------------------

def copy_chunks(conn: psycopg.Connection, query: sql.Composable, params: dict | tuple | None,
                chunk_bytes: int) -> Iterator[bytes]:
    """`COPY (query) TO STDOUT` in PostgreSQL's text format, in chunks of whole rows.

    The text format escapes newlines inside values (`\\n`), so a raw newline always ends a row,
    and its escapes and `\\N` for NULL are what ClickHouse's TabSeparated format reads. A reader
    thread keeps PostgreSQL streaming while ClickHouse parses the previous chunk."""
    copy_sql = sql.SQL("COPY ({}) TO STDOUT").format(query)
    chunks: queue.Queue = queue.Queue(maxsize=2)
    done = object()

    def read() -> None:
        try:
            pending = bytearray()
            with conn.cursor() as cur, cur.copy(copy_sql, params or None) as copy:
                for data in copy:
                    pending += data
                    if len(pending) >= chunk_bytes:
                        cut = pending.rfind(b"\n") + 1
                        chunks.put(bytes(pending[:cut]))
                        del pending[:cut]
            if pending:
                chunks.put(bytes(pending))
            chunks.put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            chunks.put(exc)

    reader = threading.Thread(target=read, name="copy-reader", daemon=True)
    reader.start()
    try:
        while (item := chunks.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        while reader.is_alive():  # unblock a reader waiting on a full queue, then let it finish
            try:
                chunks.get(timeout=0.1)
            except queue.Empty:
                pass
        reader.join()


def copy_into(wh: Warehouse, conn: psycopg.Connection, into: str, names: list[str], query: sql.Composable,
              params: dict | tuple | None = None, *, block_bytes: int = 32 << 20) -> None:
    """Stream the rows of a PostgreSQL query into `into`'s columns `names`."""
    for chunk in copy_chunks(conn, query, params, block_bytes):
        wh.raw_insert(into, names, chunk, fmt="TabSeparated")


def client_pull(wh: Warehouse, conn: psycopg.Connection, source: Source, into: str, window: Window, *,
                block_bytes: int) -> None:
    copy_into(wh, conn, into, pulled_columns(source.table), source_query(source, window),
              _parameters(source, window), block_bytes=block_bytes)


# --- server mode: ClickHouse's postgresql() table function ---------------------------------------

def _ch_expr(column: Column) -> str:
    c = quote_identifier(column.name)
    return {
        "key": f"CAST({c} AS Int64)",
        "int": f"CAST({c} AS Nullable(Int64))",
        # round() on Decimal rounds half away from zero, as PostgreSQL's numeric round() does.
        "money": f"CAST(round({c}, 2) AS Nullable(Decimal(18, 2)))",
        "text": f"CAST({c} AS Nullable(String))",
        "category": f"CAST({c} AS Nullable(String))",
        "date": f"CAST({c} AS Nullable(Date32))",
        "timestamp": f"toDateTime64({c}, 6, 'UTC')",
    }[column.kind]


_PG_FUNCTION = (
    "postgresql({pg_host:String}, {pg_db:String}, {pg_table:String}, {pg_user:String},"
    " {pg_password:String}, {pg_schema:String})"
)


def _pg_parameters(pg: PostgresResource, source: Source) -> dict:
    target = pg.target()
    return {
        "pg_host": f"{target.host}:{target.port}",
        "pg_db": target.dbname,
        "pg_table": source.table.name,
        "pg_user": target.user,
        "pg_password": target.password,
        "pg_schema": source.schema,
    }


def server_pull(wh: Warehouse, pg: PostgresResource, source: Source, into: str, window: Window, *,
                block_bytes: int = 32 << 20) -> None:
    """ClickHouse reads the values; COPY brings the key, clock, hash and issues of the same rows,
    and only rows present in both are kept (a row changed in between is read again next time:
    its version is newer than the watermark, or the reconcile finds its hash changed). Rows with
    a value ClickHouse cannot parse (NaN, ...) are left out of ClickHouse's read, by key, and
    read through COPY."""
    table = source.table
    parameters = _pg_parameters(pg, source)  # first: a unix-socket DSN is refused before any read
    with scratch_tables(wh, f"{table.replica}_meta", f"{table.replica}_values") as (meta, values):
        q = {name: quote_identifier(name) for name in (meta, values, into)}
        wh.command(f"CREATE TABLE {q[meta]} ({quote_identifier(table.key)} Int64, {quote_identifier(CLOCK_COLUMN)}"
                   f" DateTime64(6, 'UTC'), {quote_identifier(HASH_COLUMN)} Int64, {quote_identifier(ISSUES_COLUMN)}"
                   f" String) ENGINE = MergeTree ORDER BY {quote_identifier(table.key)}")
        with pg.connect() as conn:
            copy_into(wh, conn, meta, pulled_columns(table, values=False), source_query(source, window, values=False),
                      _parameters(source, window), block_bytes=block_bytes)
        key = quote_identifier(table.key)
        unreadable = [int(k) for (k,) in wh.rows(
            f"SELECT {key} FROM {q[meta]} WHERE position({quote_identifier(ISSUES_COLUMN)}, {{u:String}}) > 0",
            {"u": UNSTORABLE})]
        columns = ", ".join(quote_identifier(n) for n in table.column_names)
        exprs = [_ch_expr(c) for c in table.columns]
        version = quote_identifier(VERSION_COLUMN)
        exprs.append(f"ifNull(toDateTime64({version}, 6, 'UTC'), toDateTime64(0, 6, 'UTC'))")
        # Only simple comparisons and literal IN lists reach PostgreSQL (the rest is filtered after
        # the read): the window and the unreadable keys must be among them.
        where = [f"{key} IS NOT NULL"]
        if window.since is not None:
            where.append(f"({version} > {{since:DateTime64(6, 'UTC')}} OR {version} IS NULL)")
            parameters["since"] = window.since
        if window.keys is not None:
            where.append(f"{key} IN ({', '.join(str(int(k)) for k in window.keys) or 'NULL'})")
        if unreadable:
            where.append(f"{key} NOT IN ({', '.join(str(k) for k in unreadable)})")
        wh.command(f"CREATE TABLE {q[values]} AS {q[into]}")
        wh.with_secrets(parameters["pg_password"]).command(
            f"INSERT INTO {q[values]} ({columns}) SELECT {', '.join(exprs)} FROM {_PG_FUNCTION}"
            f" WHERE {' AND '.join(where)}",
            parameters,
        )
        meta_columns = [CLOCK_COLUMN, HASH_COLUMN, ISSUES_COLUMN]
        wh.command(
            f"INSERT INTO {q[into]} ({columns}, {', '.join(map(quote_identifier, meta_columns))})"
            f" SELECT {', '.join('v.' + quote_identifier(n) for n in table.column_names)},"
            f" {', '.join('m.' + quote_identifier(n) for n in meta_columns)}"
            f" FROM {q[values]} AS v INNER JOIN {q[meta]} AS m ON v.{key} = m.{key}"
        )
    if unreadable:
        with pg.connect() as conn:
            client_pull(wh, conn, source, into, Window(keys=unreadable), block_bytes=block_bytes)
