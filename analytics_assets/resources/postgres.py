"""The source PostgreSQL (psycopg 3). DSN from $ANALYTICS_POSTGRES_DSN, else the local server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field

from analytics_assets import settings
from analytics_assets.secrets import dsn_password, mask_url, redact
from analytics_assets.settings import SettingError


@dataclass(frozen=True)
class PostgresTarget:
    """Where the source lives, as ClickHouse's postgresql() table function needs it."""

    host: str
    port: int
    dbname: str
    user: str
    password: str


class PostgresResource(dg.ConfigurableResource):
    """The OLTP source: customers, products, sales (DESIGN.md, source schema)."""

    dsn: str | None = Field(
        default=None,
        description="libpq URI; default $ANALYTICS_POSTGRES_DSN, else the local server "
        "started by `analytics-assets postgres start`",
    )
    source_schema: str = Field(default="public", description="schema holding the source tables")
    connect_timeout_seconds: int = 10

    def resolved_dsn(self) -> str:
        dsn = self.dsn or settings.postgres_dsn()
        if dsn:
            return dsn
        from analytics_assets.resources.local_postgres import default_local_postgres

        try:
            return default_local_postgres().dsn
        except Exception as exc:
            raise SettingError(f"{settings.POSTGRES_DSN} is unset and {exc}") from None

    def masked_dsn(self) -> str:
        return mask_url(self.resolved_dsn())

    def target(self) -> PostgresTarget:
        params = self._params()
        host = params.get("host") or "127.0.0.1"
        if host.startswith("/"):
            raise SettingError(
                f"{settings.POSTGRES_DSN}: {self.masked_dsn()} uses a unix socket; "
                "the server-side transfer needs a TCP host (or use transfer_mode='client')"
            )
        return PostgresTarget(
            host=host,
            port=int(params.get("port") or 5432),
            dbname=params.get("dbname") or params.get("user") or "postgres",
            user=params.get("user") or "postgres",
            password=params.get("password") or "",
        )

    def _params(self) -> dict[str, str]:
        dsn = self.resolved_dsn()
        try:
            return conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise SettingError(f"{settings.POSTGRES_DSN}: not a valid libpq DSN: {self.masked_dsn()}") from None

    @contextmanager
    def connect(self, *, autocommit: bool = False, utc: bool = True) -> Iterator[psycopg.Connection]:
        """A connection in UTC (unless `utc=False`: the source's own default) with ISO dates.
        Errors name the setting and mask the password."""
        password = self._params().get("password") or dsn_password(self.resolved_dsn())
        try:
            conn = psycopg.connect(
                self.resolved_dsn(),
                autocommit=autocommit,
                connect_timeout=self.connect_timeout_seconds,
                options="-c DateStyle=ISO" + (" -c TimeZone=UTC" if utc else ""),
            )
        except psycopg.Error as exc:
            reason = redact(" ".join(str(exc).split()), password)
            raise SettingError(
                f"{settings.POSTGRES_DSN}: cannot connect to PostgreSQL at {self.masked_dsn()}: {reason}"
            ) from None
        try:
            yield conn
        finally:
            conn.close()
