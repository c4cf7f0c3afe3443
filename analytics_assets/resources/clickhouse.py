"""ClickHouse through clickhouse-connect: the embedded chDB engine or a server, same SQL.

The DSN decides: `chdb:///abs/path` runs ClickHouse in-process, `http[s]://user:pass@host:8123`
talks to a server. chDB allows one process per data directory at a time (STACK.md), so for
chDB only, a client is opened lazily when a step first needs it, guarded by an exclusive file
lock next to the data directory, and closed when the run's resources are torn down: the steps
of one in-process run share it (opening the engine costs 0.1-0.8 s, per step that added up to
more than the work), and another process waits for the lock. Assets also share a Dagster pool.
Outside a run, each `get_client()` block opens and closes. Against a server nothing is locked.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import clickhouse_connect
import dagster as dg
from pydantic import Field, PrivateAttr

from analytics_assets import settings
from analytics_assets.secrets import dsn_password, mask_url, redact
from analytics_assets.settings import SettingError
from analytics_assets.identifiers import quote_identifier, validate_identifier

if TYPE_CHECKING:  # pyarrow (and numpy with it) costs half a second to import: only for Arrow I/O
    import pyarrow as pa

# Every timestamp we write or read is UTC, whatever the host's zone; PGTZ makes the
# postgresql() table function read timestamptz in UTC too (libpq reads it at connect).
SESSION_SETTINGS = {"session_timezone": "UTC"}

# Dagster pool shared by every asset and check that opens the embedded engine.
CHDB_POOL = "chdb"


class Warehouse:
    """An open ClickHouse client bound to the analytics database."""

    def __init__(self, client: Any, database: str, *, embedded: bool, secrets: Sequence[str] = ()):
        self.client = client
        self.database = database
        self.embedded = embedded
        self._secrets = tuple(s for s in secrets if s)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets this client redacts from its errors (its DSN's password among them)."""
        return self._secrets

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Any:
        with self._redacted_errors():
            return self.client.command(sql, parameters=dict(parameters or {}))

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None):
        with self._redacted_errors():
            return self.client.query(sql, parameters=dict(parameters or {}))

    def rows(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple]:
        return self.query(sql, parameters).result_rows

    def scalar(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Any:
        rows = self.rows(sql, parameters)
        return rows[0][0] if rows else None

    def query_arrow(self, sql: str, parameters: Mapping[str, Any] | None = None) -> pa.Table:
        with self._redacted_errors():
            return self.client.query_arrow(sql, parameters=dict(parameters or {}))

    @contextmanager
    def query_column_block_stream(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> Iterator[Iterator[Sequence[Sequence[Any]]]]:
        """Blocks of the result (one sequence of Python values per column) as the engine makes
        them, so a big result never sits in memory. Native format, because clickhouse-connect's
        chDB backend materializes ArrowStream results whole. Run no other query on this client
        inside the block: chDB refuses while a stream is open."""
        with self._redacted_errors():
            stream = self.client.query_column_block_stream(sql, parameters=dict(parameters or {}))

        def blocks(source: Iterator[Sequence[Sequence[Any]]]) -> Iterator[Sequence[Sequence[Any]]]:
            while True:
                with self._redacted_errors():
                    block = next(source, None)
                if block is None:
                    return
                yield block

        with stream as source:
            yield blocks(iter(source))

    def raw_query(self, sql: str, parameters: Mapping[str, Any] | None = None, *, fmt: str) -> bytes:
        """The result in a ClickHouse output format (e.g. CSVWithNames), as bytes."""
        with self._redacted_errors():
            return self.client.raw_query(sql, parameters=dict(parameters or {}), fmt=fmt)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        with self._redacted_errors():
            self.client.insert_arrow(quote_identifier(table, what="table"), data)

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Insert a few Python rows (registries, state marks); bulk data goes as Arrow."""
        with self._redacted_errors():
            self.client.insert(quote_identifier(table, what="table"), list(rows), column_names=list(columns))

    def raw_insert(self, table: str, columns: Sequence[str], data: bytes, *, fmt: str) -> None:
        """Insert data already in a ClickHouse input format (e.g. TabSeparated)."""
        with self._redacted_errors():
            self.client.raw_insert(quote_identifier(table, what="table"),
                                   [quote_identifier(c) for c in columns], data, fmt=fmt)

    def table_uuid(self, table: str) -> str | None:
        """The table's UUID (None if it does not exist): a rebuilt table (swapped in) has a new one."""
        return self.scalar(
            "SELECT toString(uuid) FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            {"db": self.database, "t": table},
        )

    def table_exists(self, table: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
                {"db": self.database, "t": table},
            )
        )

    def row_count(self, table: str, *, final: bool = False) -> int:
        modifier = " FINAL" if final else ""
        return int(self.scalar(f"SELECT count() FROM {quote_identifier(table)}{modifier}"))

    def with_secrets(self, *secrets: str | None) -> Warehouse:
        """The same client, redacting more secrets (e.g. a PostgreSQL password) from its errors."""
        more = tuple(s for s in secrets if s)
        return Warehouse(self.client, self.database, embedded=self.embedded, secrets=self._secrets + more)

    @contextmanager
    def _redacted_errors(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            message = redact(str(exc), *self._secrets)
            if message != str(exc):
                raise type(exc)(message) if _reconstructible(exc) else RuntimeError(message) from None
            raise


def _reconstructible(exc: Exception) -> bool:
    try:
        type(exc)("probe")
        return True
    except Exception:
        return False


class ClickHouseResource(dg.ConfigurableResource):
    """The analytics warehouse. Unset fields fall back to the environment contract (DESIGN.md)."""

    dsn: str | None = Field(
        default=None,
        description="chdb:///abs/path or http[s]://user:pass@host:8123; "
        "default $ANALYTICS_CLICKHOUSE_DSN, else chdb://$ANALYTICS_DATA_DIR/clickhouse",
    )
    database: str | None = Field(
        default=None, description="default $ANALYTICS_CLICKHOUSE_DATABASE, else 'analytics'"
    )
    lock_timeout_seconds: float = Field(
        default=1800.0, description="chDB only: how long a step waits for another process's lock"
    )
    _run_scope: ExitStack | None = PrivateAttr(default=None)
    _run_warehouse: Warehouse | None = PrivateAttr(default=None)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[ClickHouseResource]:
        """For the duration of a run (in-process executor: all its steps), keep the first opened
        client and close it at the end, failures included."""
        with ExitStack() as scope:
            self._run_scope = scope
            try:
                yield self
            finally:
                self._run_scope = None
                self._run_warehouse = None

    def target(self) -> settings.ClickHouseTarget:
        """This resource's warehouse: its own fields, else the environment's one target."""
        default = settings.clickhouse_target()
        database = validate_identifier(self.database or default.database, what=settings.CLICKHOUSE_DATABASE)
        return settings.ClickHouseTarget(dsn=self.dsn or default.dsn, database=database)

    def resolved_dsn(self) -> str:
        return self.target().dsn

    def resolved_database(self) -> str:
        return self.target().database

    @contextmanager
    def get_client(self) -> Iterator[Warehouse]:
        """A client bound to the database (created if missing): the run's shared one inside a
        run, else one opened for this block."""
        if self._run_scope is not None:
            if self._run_warehouse is None:
                self._run_warehouse = self._run_scope.enter_context(self._open())
            yield self._run_warehouse
            return
        with self._open() as wh:
            yield wh

    @contextmanager
    def _open(self) -> Iterator[Warehouse]:
        target = self.target()
        dsn, database = target.dsn, target.database
        if target.embedded:
            path = chdb_path(dsn)
            with chdb_lock(path, timeout=self.lock_timeout_seconds):
                os.environ["PGTZ"] = "UTC"
                try:
                    client = _connect(dsn=f"chdb://{path}")
                except SettingError as exc:
                    # chDB says only "Error initializing EmbeddedServer" when another program
                    # (a notebook, a script) has the directory open without our lock file.
                    holder = _chdb_status_holder(path)
                    if holder is None:
                        raise
                    raise SettingError(
                        f"{settings.CLICKHOUSE_DSN}: the embedded ClickHouse at {path} is open in another process "
                        f"({holder}) that does not take {path.with_name(path.name + '.lock')}; chDB allows one "
                        f"process per directory: close that program (or copy the directory), then rerun ({exc})"
                    ) from None
                yield from _bound(client, database, embedded=True, secrets=())
        else:
            client = _connect(dsn=dsn)
            yield from _bound(client, database, embedded=False, secrets=(dsn_password(dsn),))


def _bound(client: Any, database: str, *, embedded: bool, secrets: Sequence[str | None]) -> Iterator[Warehouse]:
    try:
        client.command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
        client.database = database
        yield Warehouse(client, database, embedded=embedded, secrets=[s for s in secrets if s])
    finally:
        client.close()


def _connect(dsn: str) -> Any:
    try:
        return clickhouse_connect.get_client(dsn=dsn, settings=SESSION_SETTINGS)
    except Exception as exc:
        secret = dsn_password(dsn) if not settings.is_chdb(dsn) else None
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, secret)
        raise SettingError(
            f"{settings.CLICKHOUSE_DSN}: cannot connect to ClickHouse at {mask_url(dsn)}: {reason}"
        ) from None


def chdb_path(dsn: str) -> Path:
    """The data directory of a `chdb:///abs/path` DSN (created if missing)."""
    parts = urlsplit(dsn)
    if parts.netloc == "memory" or not parts.path or parts.netloc not in ("",):
        raise SettingError(
            f"{settings.CLICKHOUSE_DSN}: {dsn!r} must be chdb:///absolute/path "
            "(chdb://memory loses its data when a step ends)"
        )
    path = Path(parts.path)
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


# --- the chDB one-process rule -------------------------------------------------------------
# A process-wide, re-entrant hold on the lock file: nested or concurrent get_client() calls in
# one process share one flock (chDB itself is shared within a process).
_holds: dict[Path, int] = {}
_holds_fd: dict[Path, int] = {}
_holds_lock = threading.Lock()


@contextmanager
def chdb_lock(path: Path, *, timeout: float, poll: float = 0.2) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    _acquire(lock_path, timeout=timeout, poll=poll)
    try:
        yield
    finally:
        _release(lock_path)


def _acquire(lock_path: Path, *, timeout: float, poll: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with _holds_lock:
            if lock_path in _holds:
                _holds[lock_path] += 1
                return
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
            else:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                _holds[lock_path], _holds_fd[lock_path] = 1, fd
                return
        if time.monotonic() >= deadline:
            holder = _lock_holder(lock_path)
            raise TimeoutError(
                f"the embedded ClickHouse at {lock_path.with_suffix('')} is in use by another process"
                f"{f' (pid {holder})' if holder else ''} for more than {timeout:.0f} s"
            )
        time.sleep(poll)


def _release(lock_path: Path) -> None:
    with _holds_lock:
        _holds[lock_path] -= 1
        if _holds[lock_path] == 0:
            del _holds[lock_path]
            fd = _holds_fd.pop(lock_path)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _chdb_status_holder(path: Path) -> str | None:
    """Who holds chDB's own lock on `path` (ClickHouse flocks `<path>/status` and writes its pid
    there), or None when nobody does."""
    try:
        fd = os.open(path / "status", os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = next((line.split(":", 1)[1].strip() for line in _read_text(path / "status").splitlines()
                        if line.startswith("PID:")), "")
            return f"pid {pid}" if pid else "pid unknown"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _lock_holder(lock_path: Path) -> str | None:
    try:
        return lock_path.read_text().strip() or None
    except OSError:
        return None


def clickhouse_pool() -> str | None:
    """The Dagster pool for steps that open ClickHouse: serialized for chDB, free for a server."""
    return CHDB_POOL if settings.clickhouse_target().embedded else None
