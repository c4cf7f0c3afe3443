"""One resource per external system."""

from analytics_assets.resources.clickhouse import ClickHouseResource, Warehouse
from analytics_assets.resources.postgres import PostgresResource

__all__ = ["ClickHouseResource", "PostgresResource", "Warehouse"]
