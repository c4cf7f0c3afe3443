"""The replicated source tables: required columns, their ClickHouse types, and the replica DDL.

Only these columns are replicated (a source may have more). Each column is cast to a canonical
type on the way in, so a user's schema with other types (integer or bigint keys, timestamp or
timestamptz, any numeric precision) lands the same: keys Int64, money Decimal(18,2), times
DateTime64(6, 'UTC'). Non-key columns are Nullable: the replica mirrors the source, bad rows
included, and checks surface them downstream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["key", "int", "money", "text", "category", "date", "timestamp"]

CH_TYPES: dict[Kind, str] = {
    "key": "Int64",
    "int": "Nullable(Int64)",
    "money": "Nullable(Decimal(18, 2))",
    "text": "Nullable(String)",
    "category": "LowCardinality(Nullable(String))",
    "date": "Nullable(Date32)",
    "timestamp": "Nullable(DateTime64(6, 'UTC'))",
}

VERSION_COLUMN = "updated_at"
DELETED_COLUMN = "_is_deleted"
SYNCED_COLUMN = "_synced_at"
# What the source said when the row was read (transfer.py computes them in PostgreSQL):
CLOCK_COLUMN = "_source_clock"  # the source's now(): the watermark never passes it
HASH_COLUMN = "_source_hash"  # a hash of the source row's values: the reconcile compares content
ISSUES_COLUMN = "_source_issues"  # why a value was stored as NULL, or updated_at is ahead of the clock


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind

    @property
    def ch_type(self) -> str:
        return CH_TYPES[self.kind]


@dataclass(frozen=True)
class SourceTable:
    name: str
    key: str
    columns: tuple[Column, ...]  # the key first, updated_at excluded (always added last)

    @property
    def replica(self) -> str:
        return f"raw_{self.name}"

    @property
    def column_names(self) -> list[str]:
        """Replicated source columns, in replica order (updated_at last)."""
        return [c.name for c in self.columns] + [VERSION_COLUMN]

    @property
    def key_column(self) -> Column:
        return self.columns[0]

    def replica_columns(self) -> list[tuple[str, str]]:
        """(name, ClickHouse type) of every replica column, in order."""
        return [(c.name, c.ch_type) for c in self.columns] + [
            (VERSION_COLUMN, "DateTime64(6, 'UTC')"),
            (DELETED_COLUMN, "UInt8"),
            (SYNCED_COLUMN, "DateTime64(6, 'UTC')"),
            (CLOCK_COLUMN, "DateTime64(6, 'UTC')"),
            (HASH_COLUMN, "Int64"),
            (ISSUES_COLUMN, "String"),
        ]

    def replica_body(self) -> str:
        """Columns and engine of the replica (and of its staging tables).

        ReplacingMergeTree(_synced_at, _is_deleted): the version read last wins. Not the
        source's updated_at: an application may set it backwards (clock skew, a bulk fix by
        hand), and a row read again after such an update must still replace what we hold.
        Re-reading a row is harmless, and a hard delete at the source becomes a tombstone that
        FINAL hides.
        """
        defaults = {DELETED_COLUMN: " DEFAULT 0", SYNCED_COLUMN: " DEFAULT now64(6)", ISSUES_COLUMN: " DEFAULT ''"}
        columns = [f"    `{name}` {ch_type}{defaults.get(name, '')}" for name, ch_type in self.replica_columns()]
        return (
            "(\n" + ",\n".join(columns) + "\n)\n"
            f"ENGINE = ReplacingMergeTree(`{SYNCED_COLUMN}`, `{DELETED_COLUMN}`)\n"
            f"ORDER BY `{self.key}`"
        )

    @property
    def quarantine(self) -> str:
        """Source rows that cannot be replicated (no key, or a key shared with another row)."""
        return f"{self.replica}_quarantine"


def replica_column_descriptions(table: SourceTable) -> dict[str, str]:
    """What each replica column holds (the asset's column schema)."""
    return {
        **{c.name: f"{table.name}.{c.name} in the source" + (" (the key)" if c.kind == "key" else "")
           for c in table.columns},
        VERSION_COLUMN: f"{table.name}.updated_at in the source: when the row last changed",
        DELETED_COLUMN: "1: a tombstone, the row was deleted at the source (FINAL hides it)",
        SYNCED_COLUMN: "When this version was read (the ReplacingMergeTree version: the last read wins)",
        CLOCK_COLUMN: "The source's clock when the row was read: the watermark never passes it",
        HASH_COLUMN: "Hash of the source row's values: the reconcile compares content with it",
        ISSUES_COLUMN: "Why a value was stored as NULL, or updated_at is ahead of the clock ('' if none)",
    }


def _table(name: str, key: str, **kinds: Kind) -> SourceTable:
    return SourceTable(name, key, (Column(key, "key"), *(Column(n, k) for n, k in kinds.items())))


CUSTOMERS = _table(
    "customers",
    "customer_id",
    customer_name="text",
    email="text",
    signup_date="date",
    customer_segment="category",
    region="category",
    country="category",
    state="text",
)
PRODUCTS = _table(
    "products", "product_id", product_name="text", category="category", subcategory="category"
)
SALES = _table(
    "sales",
    "sale_id",
    customer_id="int",
    product_id="int",
    sale_date="timestamp",
    quantity="int",
    unit_price="money",
    total_amount="money",
    discount_amount="money",
    tax_amount="money",
    status="category",
)

SOURCE_TABLES: tuple[SourceTable, ...] = (CUSTOMERS, PRODUCTS, SALES)
