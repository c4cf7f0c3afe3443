"""chDB's one-process rule: a second process waits for the lock, and fails clearly if it can't get it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from analytics_assets.resources import ClickHouseResource

HOLDER = textwrap.dedent("""
    import sys, time
    from analytics_assets.resources import ClickHouseResource
    with ClickHouseResource(dsn=sys.argv[1]).get_client() as wh:
        wh.command("CREATE TABLE IF NOT EXISTS t (x UInt8) ENGINE = MergeTree ORDER BY x")
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold(dsn: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, dsn, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_another_process_holding_the_engine_makes_us_wait_then_proceed(tmp_path):
    dsn = f"chdb://{tmp_path / 'ch'}"
    holder = _hold(dsn, 2.0)
    started = time.monotonic()
    with ClickHouseResource(dsn=dsn, lock_timeout_seconds=60).get_client() as wh:
        waited = time.monotonic() - started
        assert wh.table_exists("t")
    holder.wait(timeout=30)
    assert waited >= 1.0


def test_a_lock_held_too_long_fails_with_the_holders_pid(tmp_path):
    dsn = f"chdb://{tmp_path / 'ch'}"
    holder = _hold(dsn, 30)
    try:
        with pytest.raises(TimeoutError, match=rf"in use by another process \(pid {holder.pid}\) for more than 1 s"):
            with ClickHouseResource(dsn=dsn, lock_timeout_seconds=1).get_client():
                pass
    finally:
        holder.kill()
        holder.wait()
    # The lock dies with its holder (even on SIGKILL): the next step proceeds.
    with ClickHouseResource(dsn=dsn, lock_timeout_seconds=10).get_client() as wh:
        assert wh.table_exists("t")


def test_threads_of_one_process_share_the_engine(tmp_path):
    resource = ClickHouseResource(dsn=f"chdb://{tmp_path / 'ch'}", lock_timeout_seconds=5)
    results, errors = [], []

    def work(i: int) -> None:
        try:
            with resource.get_client() as wh:
                results.append(wh.scalar("SELECT {i:UInt8} + 1", {"i": i}))
                time.sleep(0.2)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(results) == [1, 2, 3, 4]
