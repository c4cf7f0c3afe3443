"""The column-list parser, the lineage reader and the built schema, on real ClickHouse DDL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from analytics_assets.warehouse.columns import (
    Column,
    built_schema,
    column_lineage,
    normalize_type,
    parse_columns,
    sql_columns,
)

DDL = """
-- a comment with an apostrophe's (and a parenthesis
CREATE TABLE IF NOT EXISTS $target
(
    id        Int64 CODEC(Delta, ZSTD(1)) COMMENT 'The key, (never NULL)',
    `amount`  Nullable(Decimal(18,2))  COMMENT 'Net, after the customer''s discount',
    at        DateTime64(6, 'UTC') DEFAULT now64(6),
    day       Date MATERIALIZED toDate(at),  -- a trailing comment, with a comma
    tags      Map(String, Array(String)),
    INDEX id_idx id TYPE minmax GRANULARITY 4
)
ENGINE = MergeTree ORDER BY id
"""


def test_parse_columns_reads_names_types_and_comments():
    assert parse_columns(DDL) == (
        Column("id", "Int64", "The key, (never NULL)"),
        Column("amount", "Nullable(Decimal(18, 2))", "Net, after the customer's discount"),
        Column("at", "DateTime64(6, 'UTC')"),
        Column("day", "Date"),
        Column("tags", "Map(String, Array(String))"),
    )


def test_a_create_without_a_column_list_is_an_error_naming_the_file():
    with pytest.raises(ValueError, match="mart.sql: no CREATE TABLE with a column list"):
        parse_columns("CREATE TABLE $target ENGINE = MergeTree ORDER BY x AS SELECT (1) AS x", "mart.sql")


def test_a_sibling_columns_file_declares_what_the_query_types(tmp_path: Path):
    (tmp_path / "t.sql").write_text("CREATE TABLE $target ENGINE = Memory AS SELECT 1 AS x")
    (tmp_path / "t.columns.sql").write_text("-- never executed\n(\n    x UInt8 COMMENT 'one'\n)\n")
    assert sql_columns(tmp_path / "t.sql") == (Column("x", "UInt8", "one"),)


def test_types_are_spelled_as_clickhouse_spells_them(clickhouse):
    """normalize_type's spelling is system.columns': a built table's schema equals the parsed one."""
    assert normalize_type("Nullable( Decimal(18,2) )") == "Nullable(Decimal(18, 2))"
    with clickhouse.get_client() as wh:
        wh.command(DDL.replace("$target", "t"))
        built = built_schema(wh, "t")
    assert [(c.name, c.type, c.description) for c in built.columns] == [
        (c.name, c.type, c.description) for c in parse_columns(DDL)]


SQL = """
CREATE TABLE $target (rank UInt32, customer_id Int64, revenue Nullable(Decimal(18, 2)), orders UInt64,
                      per_order Nullable(Float64), as_of DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY rank AS
SELECT toUInt32(row_number() OVER (ORDER BY revenue DESC)) AS rank, *
FROM (
    SELECT
        customer_id,
        sum(if(status = 'COMPLETED', net_amount, 0)) AS revenue,  -- 'status' in a comment: customer_name
        count() AS orders,
        revenue / orders AS per_order,
        {as_of:DateTime64(6, 'UTC')} AS as_of
    FROM sales_fact
    GROUP BY customer_id
)
"""


def test_lineage_follows_aliases_to_the_upstream_columns():
    fact = dg.AssetKey("sales_fact")
    upstream = {"customer_id": "Int64", "net_amount": "Decimal(18, 2)", "status": "String", "customer_name": "String",
                "as_of": "DateTime64(6, 'UTC')"}
    lineage = column_lineage(SQL, [c.name for c in parse_columns(SQL)], fact, upstream)
    found = {column: sorted(dep.column_name for dep in deps) for column, deps in lineage.deps_by_column.items()}
    assert found == {
        "rank": ["net_amount", "status"],  # through the alias `revenue`
        "customer_id": ["customer_id"],
        "revenue": ["net_amount", "status"],
        "per_order": ["net_amount", "status"],  # `orders` is a count: no column
        # `orders` and `as_of` (a parameter, though sales_fact has an as_of) come from no column
    }
    assert all(dep.asset_key == fact for deps in lineage.deps_by_column.values() for dep in deps)
