"""Moving source rows into ClickHouse, two ways behind one setting.

* ``server``: ClickHouse pulls from PostgreSQL itself with the ``postgresql()`` table function
  (about 10x faster than going through Python; STACK.md). Needs ClickHouse to reach PostgreSQL.
* ``client``: this process streams ``COPY ... TO STDOUT`` out of PostgreSQL in bounded chunks of
  whole rows and hands them to ClickHouse as TabSeparated, which ClickHouse parses natively. For
  deployments where ClickHouse cannot reach PostgreSQL.

Both cast every column to the replica's canonical type (see ``sources``), so they write
identical rows. Both write into a staging table; publishing is the caller's business.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg
from psycopg import sql

from analytics_assets.resources.clickhouse import Warehouse
from analytics_assets.resources.postgres import PostgresResource
from analytics_assets.settings import SettingError
from analytics_assets.ingest.sources import VERSION_COLUMN, Column, SourceTable
from analytics_assets.warehouse.identifiers import quote_identifier

TransferMode = Literal["server", "client"]
TRANSFER_MODES: tuple[TransferMode, ...] = ("server", "client")

UTC_NAMES = {"utc", "etc/utc", "etc/universal", "universal", "zulu", "etc/zulu", "gmt", "etc/gmt", "gmt0"}


class SourceSchemaError(ValueError):
    """The source table lacks something the replica needs; the message names table and column."""


@dataclass(frozen=True)
class Window:
    """Which source rows to read: those with updated_at after `since` (None: all of them)."""

    since: datetime | None


def check_source_columns(conn: psycopg.Connection, table: SourceTable, schema: str) -> None:
    """Fail with the table and column names when the source lacks a required column."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        (schema, table.name),
    ).fetchall()
    if not rows:
        raise SourceSchemaError(f"source table {schema}.{table.name} does not exist")
    present = {name for (name,) in rows}
    missing = [name for name in table.column_names if name not in present]
    if missing:
        raise SourceSchemaError(
            f"source table {schema}.{table.name} is missing required column(s): {', '.join(missing)}"
        )


# --- server mode: ClickHouse's postgresql() table function --------------------------------------

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


def _pg_parameters(pg: PostgresResource, table: SourceTable, schema: str) -> dict:
    target = pg.target()
    return {
        "pg_host": f"{target.host}:{target.port}",
        "pg_db": target.dbname,
        "pg_table": table.name,
        "pg_user": target.user,
        "pg_password": target.password,
        "pg_schema": schema,
    }


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


def server_pull(wh: Warehouse, pg: PostgresResource, table: SourceTable, schema: str,
                into: str, window: Window) -> None:
    columns = ", ".join(quote_identifier(n) for n in table.column_names)
    exprs = [_ch_expr(c) for c in table.columns]
    version = quote_identifier(VERSION_COLUMN)
    exprs.append(f"ifNull(toDateTime64({version}, 6, 'UTC'), toDateTime64(0, 6, 'UTC'))")
    where = ""
    parameters = _pg_parameters(pg, table, schema)
    if window.since is not None:
        where = f" WHERE {version} > {{since:DateTime64(6, 'UTC')}} OR {version} IS NULL"
        parameters["since"] = window.since
    wh.with_secrets(parameters["pg_password"]).command(
        f"INSERT INTO {quote_identifier(into)} ({columns}) SELECT {', '.join(exprs)} FROM {_PG_FUNCTION}{where}",
        parameters,
    )


def server_pull_keys(wh: Warehouse, pg: PostgresResource, table: SourceTable, schema: str, into: str) -> None:
    parameters = _pg_parameters(pg, table, schema)
    wh.with_secrets(parameters["pg_password"]).command(
        f"INSERT INTO {quote_identifier(into)} SELECT CAST({quote_identifier(table.key)} AS Int64)"
        f" FROM {_PG_FUNCTION}",
        parameters,
    )


# --- client mode: COPY out of PostgreSQL, TabSeparated into ClickHouse ---------------------------

def _pg_expr(column: Column) -> sql.Composable:
    c = sql.Identifier(column.name)
    template = {
        "key": "{c}::bigint",
        "int": "{c}::bigint",
        "money": "round({c}::numeric, 2)",
        "text": "{c}::text",
        "category": "{c}::text",
        # PostgreSQL's 'infinity' and '-infinity' have no ClickHouse value: they arrive as NULL,
        # which the checks report with the row's key (one such row used to fail the whole table).
        "date": "CASE WHEN isfinite({c}::date) THEN {c}::date END",
        # UTC wall-clock text: a timestamptz is converted, a plain timestamp is taken as UTC
        # (the session's TimeZone is UTC), a date is its midnight.
        "timestamp": "CASE WHEN isfinite({c}::timestamptz) THEN ({c}::timestamptz AT TIME ZONE 'UTC') END",
    }[column.kind]
    return sql.SQL(template).format(c=c)


def _copy_chunks(conn: psycopg.Connection, query: sql.Composable, params: tuple, chunk_bytes: int) -> Iterator[bytes]:
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


def _insert_tsv(wh: Warehouse, into: str, names: list[str], chunks: Iterator[bytes]) -> None:
    for chunk in chunks:
        wh.raw_insert(into, names, chunk, fmt="TabSeparated")


def client_pull(wh: Warehouse, conn: psycopg.Connection, table: SourceTable, schema: str,
                into: str, window: Window, *, block_bytes: int) -> None:
    exprs = [_pg_expr(c) for c in table.columns]
    version = sql.Identifier(VERSION_COLUMN)
    exprs.append(sql.SQL("(CASE WHEN isfinite({v}::timestamptz) THEN {v}::timestamptz ELSE 'epoch' END"
                         " AT TIME ZONE 'UTC')").format(v=version))  # NULL or infinite: the oldest version
    query = sql.SQL("SELECT {} FROM {}.{}").format(
        sql.SQL(", ").join(exprs), sql.Identifier(schema), sql.Identifier(table.name)
    )
    params: tuple = ()
    if window.since is not None:
        query = sql.SQL("{} WHERE {v} > %s OR {v} IS NULL").format(query, v=version)
        params = (window.since,)
    _insert_tsv(wh, into, table.column_names, _copy_chunks(conn, query, params, block_bytes))


def client_pull_keys(wh: Warehouse, conn: psycopg.Connection, table: SourceTable, schema: str,
                     into: str, *, block_bytes: int) -> None:
    query = sql.SQL("SELECT {k}::bigint FROM {s}.{t}").format(
        k=sql.Identifier(table.key), s=sql.Identifier(schema), t=sql.Identifier(table.name)
    )
    _insert_tsv(wh, into, ["k"], _copy_chunks(conn, query, (), block_bytes))
