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

    def replica_body(self) -> str:
        """Columns and engine of the replica (and of its staging tables).

        ReplacingMergeTree(updated_at, _is_deleted): re-reading a row is harmless, the newest
        version wins, and a hard delete at the source becomes a tombstone that FINAL hides.
        """
        columns = [f"    `{c.name}` {c.ch_type}" for c in self.columns]
        columns += [
            f"    `{VERSION_COLUMN}` DateTime64(6, 'UTC')",
            f"    `{DELETED_COLUMN}` UInt8 DEFAULT 0",
            f"    `{SYNCED_COLUMN}` DateTime64(6, 'UTC') DEFAULT now64(6)",
        ]
        return (
            "(\n" + ",\n".join(columns) + "\n)\n"
            f"ENGINE = ReplacingMergeTree(`{VERSION_COLUMN}`, `{DELETED_COLUMN}`)\n"
            f"ORDER BY `{self.key}`"
        )


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
