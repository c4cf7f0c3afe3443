"""How we talk to ClickHouse: identifiers, SQL files, and the one way to replace a table."""

from analytics_assets.identifiers import quote_identifier, validate_identifier
from analytics_assets.warehouse.sql import load_sql, render_sql
from analytics_assets.warehouse.tables import append_atomically, replace_table

__all__ = [
    "append_atomically",
    "load_sql",
    "quote_identifier",
    "render_sql",
    "replace_table",
    "validate_identifier",
]
