"""Fixtures for the ingest tests: a generated source on real PostgreSQL, chDB in a temp dir."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from analytics_assets.demo import generator
from analytics_assets.ingest.sources import SOURCE_TABLES, SourceTable
from analytics_assets.resources import PostgresResource

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)


@pytest.fixture
def source(pg_dsn: str) -> PostgresResource:
    """A small dirty source database (bad rows of every kind included)."""
    generator.generate(pg_dsn, customers=600, products=60, sales=6000, seed=7, as_of=AS_OF, dirty=True)
    return PostgresResource(dsn=pg_dsn)


def _normalize(value):
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    return value


def source_rows(pg: PostgresResource, table: SourceTable) -> list[tuple]:
    with pg.connect() as conn:
        rows = conn.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names),
                sql.Identifier(table.name), sql.Identifier(table.key),
            )
        ).fetchall()
    return [tuple(_normalize(v) for v in row) for row in rows]


def replica_rows(wh, table: SourceTable) -> list[tuple]:
    columns = ", ".join(f"`{c}`" for c in table.column_names)
    rows = wh.rows(f"SELECT {columns} FROM `{table.replica}` FINAL ORDER BY `{table.key}`")
    return [tuple(_normalize(v) for v in row) for row in rows]


def assert_replicas_equal_source(wh, pg: PostgresResource, tables=SOURCE_TABLES) -> None:
    for table in tables:
        expected, actual = source_rows(pg, table), replica_rows(wh, table)
        assert len(actual) == len(expected), f"{table.replica}: {len(actual)} rows, source has {len(expected)}"
        for want, got in zip(expected, actual):
            assert got == want, f"{table.replica}: replica row {got} != source row {want}"


def execute(pg: PostgresResource, statement: str, params: tuple = ()) -> None:
    with pg.connect(autocommit=True) as conn:
        conn.execute(statement, params)
