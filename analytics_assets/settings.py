"""The environment contract (DESIGN.md) in one place: variable names, defaults, validation."""

from __future__ import annotations

import os
from pathlib import Path

POSTGRES_DSN = "ANALYTICS_POSTGRES_DSN"
CLICKHOUSE_DSN = "ANALYTICS_CLICKHOUSE_DSN"
CLICKHOUSE_DATABASE = "ANALYTICS_CLICKHOUSE_DATABASE"
DATA_DIR = "ANALYTICS_DATA_DIR"
AS_OF = "ANALYTICS_AS_OF"

DEFAULT_DATABASE = "analytics"


class SettingError(ValueError):
    """A setting (environment variable or config field) has a value we cannot use."""


def data_dir() -> Path:
    """`$ANALYTICS_DATA_DIR`, default `./.data`, as an absolute path."""
    return Path(os.environ.get(DATA_DIR) or ".data").expanduser().resolve()


def default_clickhouse_dsn() -> str:
    return f"chdb://{data_dir() / 'clickhouse'}"


def clickhouse_dsn() -> str:
    return os.environ.get(CLICKHOUSE_DSN) or default_clickhouse_dsn()


def clickhouse_database() -> str:
    return os.environ.get(CLICKHOUSE_DATABASE) or DEFAULT_DATABASE


def is_chdb(dsn: str) -> bool:
    return dsn.startswith("chdb:")
