"""Reliability, fault half (issue 9): each fault on real engines, then recovery.

Every fault test follows one pattern: build a clean state from a generated source (real
PostgreSQL, real chDB), take checksums of every published table, change the source so a refresh
has work, inject the fault during that refresh, check that the run fails naming the cause (or
waits) and that every table is still a complete version (the previous one, or for a table whose
own step finished before the fault, the new one), remove the fault, rerun, and check that the
checksums equal those of a clean run: a fresh chDB directory ingesting the same final source.

Figures (seconds to fail, seconds to recover, rows compared, ...) are recorded with the
`figures` fixture and printed at the end of the session; nothing is timed in an assertion.
The concurrency half (every schedule and sensor firing at once) is at the end of the module.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import psycopg

from analytics_assets.demo import event_files, generator
from analytics_assets.resources.local_postgres import LocalPostgres
from analytics_assets.ingest.assets import replica_assets
from analytics_assets.ingest.checks import replica_checks
from analytics_assets.ingest.sources import SOURCE_TABLES
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.sales.assets import mart_assets, sales_fact
from analytics_assets.sales.checks import sales_checks
from analytics_assets.sales.marts import MARTS
from analytics_assets_tests.support import (
    DAGSTER,
    REPO,
    Inbox,
    dagster_dev,
    evaluate_run_status_sensor,
    free_port,
    graphql,
    job_env,
)

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)

REPLICAS = tuple(t.replica for t in SOURCE_TABLES)
MART_NAMES = tuple(m.name for m in MARTS)
TABLES = (*REPLICAS, "sales_fact", *MART_NAMES)
PIPELINE = [*replica_assets, sales_fact, *mart_assets, *replica_checks, *sales_checks]
SIZE = {"customers": 200, "products": 30, "sales": 2500}


# --- helpers ---------------------------------------------------------------------------------

def chdb(path: Path, **kwargs) -> ClickHouseResource:
    return ClickHouseResource(dsn=f"chdb://{path}", database="analytics", **kwargs)


def refresh(pg_dsn: str, ch: ClickHouseResource, **kwargs) -> dg.ExecuteInProcessResult:
    """One run of the ingest and the sales jobs' assets (and their checks), in process."""
    return dg.materialize(PIPELINE, resources={"postgres": PostgresResource(dsn=pg_dsn), "clickhouse": ch},
                          tags={AS_OF_TAG: AS_OF.isoformat()}, raise_on_error=False, **kwargs)


def succeeded(result: dg.ExecuteInProcessResult) -> dg.ExecuteInProcessResult:
    assert result.success, failures(result)
    return result


def failures(result: dg.ExecuteInProcessResult) -> str:
    """Every failed step and its error (causes included), as one text."""
    return "\n".join(f"{e.step_key}: {e.event_specific_data.error.to_string()}"
                     for e in result.all_events if e.event_type_value == "STEP_FAILURE")


def failed_steps(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}


def checksums(ch: ClickHouseResource) -> dict[str, tuple[int, int] | None]:
    """Per published table: (rows, sum of row hashes). Replicas are read as readers read them
    (FINAL, live rows) without `_synced_at` and `_source_clock` (when a version was read, not what
    it is); a missing table is None. The sum (not a XOR) also tells duplicates apart."""
    out: dict[str, tuple[int, int] | None] = {}
    with ch.get_client() as wh:
        for table in TABLES:
            columns = [name for (name,) in wh.rows(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String}"
                " ORDER BY position", {"db": wh.database, "t": table}) if name not in ("_synced_at", "_source_clock")]
            if not columns:
                out[table] = None
                continue
            source = f"`{table}` FINAL WHERE _is_deleted = 0" if table in REPLICAS else f"`{table}`"
            (rows, digest), = wh.rows(
                f"SELECT count(), sum(cityHash64(tuple({', '.join(f'`{c}`' for c in columns)}))) FROM {source}")
            out[table] = (int(rows), int(digest))
    return out


def fact_marks(ch: ClickHouseResource) -> list[tuple]:
    """What sales_fact has applied: per replica, the newest arrival it has seen."""
    with ch.get_client() as wh:
        return wh.rows("SELECT replica, synced_through FROM sales_fact_state WHERE replica != '_applying'"
                       " ORDER BY replica")


def rows_compared(sums: dict) -> int:
    return sum(v[0] for v in sums.values() if v)


def generate(pg_dsn: str, seed: int) -> None:
    generator.generate(pg_dsn, **SIZE, seed=seed, as_of=AS_OF)


def change_source(pg_dsn: str, seed: int) -> None:
    """Work for the next refresh: an hour of activity (new sales, status changes, customers
    moving), a product renamed into another category, a sale moved to another day (delete and
    insert in sales_fact), all inside the marts' windows where it matters."""
    generator.apply_activity(pg_dsn, seed=seed)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE products SET category = 'Garden', updated_at = now() WHERE product_id = 3")
        conn.execute("UPDATE sales SET sale_date = sale_date - interval '3 days', status = 'COMPLETED',"
                     " updated_at = now() WHERE sale_id = (SELECT max(sale_id) FROM sales"
                     " WHERE sale_date < %s)", (AS_OF - timedelta(days=2),))


def clean_checksums(pg_dsn: str, path: Path) -> dict:
    """The reference: a fresh chDB directory ingesting the source as it is now."""
    ch = chdb(path)
    succeeded(refresh(pg_dsn, ch))
    return checksums(ch)


def assert_complete_versions(now: dict, before: dict, after: dict, *, unchanged=TABLES) -> None:
    """Tables in `unchanged` are exactly their previous version; every other one is a complete
    version, the previous or the new one (its step may have finished before the fault)."""
    for table in TABLES:
        allowed = (before[table],) if table in unchanged else (before[table], after[table])
        assert now[table] in allowed, f"{table}: {now[table]} is neither {' nor '.join(map(str, allowed))}"


def prepared(pg_dsn: str, tmp_path: Path, seed: int, ch: ClickHouseResource | None = None):
    """(chdb resource, checksums before, checksums of a clean run on the changed source): a
    clean state, then a changed source with work for the next refresh."""
    generate(pg_dsn, seed)
    ch = ch or chdb(tmp_path / "clickhouse")
    succeeded(refresh(pg_dsn, ch))
    before = checksums(ch)
    change_source(pg_dsn, seed + 100)
    after = clean_checksums(pg_dsn, tmp_path / "clean")
    for table in ("raw_customers", "raw_products", "raw_sales", "sales_fact", "dashboard_daily_metrics",
                  "dashboard_category_performance"):
        assert before[table] != after[table], f"{table}: the change gave the refresh no work"
    return ch, before, after


# --- PostgreSQL stopped mid-ingest --------------------------------------------------------------

def test_postgres_stopped_mid_ingest_keeps_every_table_and_a_rerun_converges(tmp_path, postgres_root_factory,
                                                                               figures):
    server = LocalPostgres(postgres_root_factory("stopped"))
    pg_dsn = server.start()
    try:
        ch, before, after = prepared(pg_dsn, tmp_path, seed=11)
        # Hold the sales table so that the ingest is caught reading it, then stop the server.
        locker = psycopg.connect(pg_dsn)
        locker.execute("LOCK TABLE sales IN ACCESS EXCLUSIVE MODE")
        outcome: dict = {}
        run = threading.Thread(target=lambda: outcome.update(result=refresh(pg_dsn, ch)))
        run.start()
        with psycopg.connect(pg_dsn, autocommit=True) as probe:
            deadline = time.monotonic() + 60
            # Only `sales` is locked, so a COPY waiting on a lock is the one reading it (its text, cut at
            # track_activity_query_size, may not reach the table's name).
            while not probe.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                    " AND query LIKE 'COPY%%'").fetchone()[0]:
                assert time.monotonic() < deadline and run.is_alive(), "the ingest never reached the sales table"
                time.sleep(0.05)
        stopped = time.monotonic()
        server.stop()
        run.join(timeout=120)
        assert not run.is_alive()
        seconds_to_fail = time.monotonic() - stopped
        with contextlib.suppress(psycopg.Error):
            locker.close()

        result = outcome["result"]
        assert not result.success
        assert "raw_sales" in failed_steps(result)
        text = failures(result)
        assert "terminating connection due to administrator command" in text, text
        assert "sales_fact" not in {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
        assert_complete_versions(checksums(ch), before, after, unchanged=("raw_sales", "sales_fact", *MART_NAMES))

        server.start()
        started = time.monotonic()
        succeeded(refresh(pg_dsn, ch))
        recovered = time.monotonic() - started
        assert checksums(ch) == after
    finally:
        server.stop()
    figures.record("faults", "PostgreSQL stopped mid-ingest: seconds from stop to failed run", f"{seconds_to_fail:.2f}")
    figures.record("faults", "PostgreSQL stopped mid-ingest: seconds to recover (rerun)", f"{recovered:.2f}")
    figures.record("faults", "PostgreSQL stopped mid-ingest: rows compared with a clean run", rows_compared(after))


# --- the run process SIGKILLed mid-swap ---------------------------------------------------------

def _env(tmp_path: Path, pg_dsn: str) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return job_env(tmp_path, pg_dsn, home, ANALYTICS_AS_OF=AS_OF.isoformat())


def _materialize(env: dict) -> subprocess.Popen:
    select = ",".join(TABLES)
    return subprocess.Popen([DAGSTER, "asset", "materialize", "-m", "analytics_assets.definitions", "--select", select],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


# Where to kill: on reading the line that starts a step (the kill lands inside it), or after a delay.
KILL_POINTS = (
    ("raw_sales starts (mid-ingest)", 'Started execution of step "raw_sales"', 0.0),
    ("sales_fact starts", 'Started execution of step "sales_fact"', 0.0),
    ("sales_fact + 0.15 s", 'Started execution of step "sales_fact"', 0.15),
    ("the marts' step starts (mid-swaps)", 'Started execution of step "dashboard_marts"', 0.0),
)


def test_the_run_process_killed_at_several_points_leaves_complete_tables_and_releases_the_engine(
        tmp_path, pg_dsn, figures):
    ch, before, after = prepared(pg_dsn, tmp_path, seed=21)
    marks_before = fact_marks(ch)
    env = _env(tmp_path, pg_dsn)
    with dg.instance_for_test(temp_dir=env["DAGSTER_HOME"]):
        pass  # create the instance's storage once, before the first subprocess
    partial_fact, lock_seconds = 0, []
    for label, line, delay in KILL_POINTS:
        proc = _materialize(env)
        seen = []
        for text in proc.stdout:
            seen.append(text)
            if line in text:
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                break
        proc.stdout.close()
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"{label}: the run ended before the kill:\n{''.join(seen)[-3000:]}"
        # The dead process's locks (our flock and chDB's own) are gone: the next open is immediate.
        started = time.monotonic()
        now = checksums(chdb(tmp_path / "clickhouse", lock_timeout_seconds=5))
        lock_seconds.append(time.monotonic() - started)
        # Swapped tables are a complete old or new version. sales_fact is updated in place
        # (README: a refresh that fails half-way is applied whole next time): it may hold part
        # of the refresh, but then its marks still say the refresh is to be applied.
        assert_complete_versions({**now, "sales_fact": before["sales_fact"]}, before, after, unchanged=())
        if now["sales_fact"] not in (before["sales_fact"], after["sales_fact"]):
            partial_fact += 1
            assert fact_marks(ch) == marks_before, f"{label}: sales_fact part-applied and its marks moved on"
        with ch.get_client() as wh:
            leftovers = wh.rows("SELECT name FROM system.tables WHERE database = 'analytics' AND name LIKE '\\_staging%'")
        figures.record("faults", f"SIGKILL at {label}: tables already new",
                       f"{sum(now[t] == after[t] for t in TABLES)}/{len(TABLES)}, staging left {len(leftovers)}")
    started = time.monotonic()
    out, _ = (proc := _materialize(env)).communicate(timeout=300)
    recovered = time.monotonic() - started
    assert proc.returncode == 0, out[-3000:]
    assert checksums(ch) == after
    figures.record("faults", "SIGKILL mid-run: kills, each followed by complete tables", len(KILL_POINTS))
    figures.record("faults", "SIGKILL mid-run: sales_fact seen part-applied after a kill", partial_fact)
    figures.record("faults", "SIGKILL mid-run: max seconds to reopen the engine after a kill", f"{max(lock_seconds):.2f}")
    figures.record("faults", "SIGKILL mid-run: seconds to recover (rerun, subprocess)", f"{recovered:.2f}")


# --- a ClickHouse insert failing ----------------------------------------------------------------

def _reject_new_sales(ch: ClickHouseResource, table: str) -> int:
    """A CHECK constraint that makes the engine refuse any sale newer than the current ones."""
    with ch.get_client() as wh:
        newest = int(wh.scalar(f"SELECT max(sale_id) FROM `{table}`"))
        wh.command(f"ALTER TABLE `{table}` ADD CONSTRAINT reliability_fault CHECK sale_id <= {newest}")
    return newest


def _allow_new_sales(ch: ClickHouseResource, table: str) -> None:
    with ch.get_client() as wh:
        wh.command(f"ALTER TABLE `{table}` DROP CONSTRAINT reliability_fault")


def test_an_insert_the_engine_refuses_into_a_replica_keeps_it_and_a_rerun_converges(tmp_path, pg_dsn, figures):
    ch, before, after = prepared(pg_dsn, tmp_path, seed=31)
    _reject_new_sales(ch, "raw_sales")  # the replica's staging table is made AS the replica: it inherits it
    started = time.monotonic()
    result = refresh(pg_dsn, ch)
    seconds_to_fail = time.monotonic() - started
    assert not result.success and failed_steps(result) == {"raw_sales"}
    assert "Constraint `reliability_fault`" in failures(result) and "is violated" in failures(result)
    now = checksums(ch)
    assert_complete_versions(now, before, after, unchanged=("raw_sales", "sales_fact", *MART_NAMES))
    with ch.get_client() as wh:
        assert wh.scalar("SELECT count() FROM system.tables WHERE database = 'analytics' AND name LIKE '\\_staging%'") == 0
    _allow_new_sales(ch, "raw_sales")
    started = time.monotonic()
    succeeded(refresh(pg_dsn, ch))
    recovered = time.monotonic() - started
    assert checksums(ch) == after
    figures.record("faults", "insert refused by the engine (raw_sales): seconds to fail", f"{seconds_to_fail:.2f}")
    figures.record("faults", "insert refused by the engine (raw_sales): seconds to recover", f"{recovered:.2f}")


def test_an_insert_the_engine_refuses_into_sales_fact_keeps_the_marts_and_a_rerun_converges(tmp_path, pg_dsn,
                                                                                             figures):
    """sales_fact applies a refresh in place, statement by statement (the marts are swapped
    whole): the insert of new sales fails after the in-place updates."""
    ch, before, after = prepared(pg_dsn, tmp_path, seed=41)
    marks = fact_marks(ch)
    _reject_new_sales(ch, "sales_fact")
    result = refresh(pg_dsn, ch)
    assert not result.success and failed_steps(result) == {"sales_fact"}
    assert "Constraint `reliability_fault`" in failures(result)
    now = checksums(ch)
    assert_complete_versions({**now, "sales_fact": before["sales_fact"]}, before, after,
                             unchanged=("sales_fact", *MART_NAMES))
    assert fact_marks(ch) == marks  # not recorded as applied: the next refresh applies it whole
    part_applied = now["sales_fact"] != before["sales_fact"]
    # Meanwhile what is built from sales_fact refuses to build from it and keeps its previous version.
    alone = dg.materialize(mart_assets, selection=[MART_NAMES[0]], resources={"clickhouse": ch},
                           tags={AS_OF_TAG: AS_OF.isoformat()}, raise_on_error=False)
    assert not alone.success and "sales_fact: the refresh that started at" in failures(alone)
    assert "stopped part-way" in failures(alone)
    assert checksums(ch)[MART_NAMES[0]] == before[MART_NAMES[0]]
    _allow_new_sales(ch, "sales_fact")
    succeeded(refresh(pg_dsn, ch))
    assert checksums(ch) == after
    with ch.get_client() as wh:  # applied whole: the state no longer says part-applied
        assert wh.scalar("SELECT count() FROM sales_fact_state WHERE replica = '_applying'") == 0
    figures.record("faults", "insert refused by the engine (sales_fact): marts kept, sales_fact part-applied",
                   "yes" if part_applied else "no")
    figures.record("faults", "insert refused by the engine (sales_fact): a mart built alone meanwhile",
                   "refused, previous version kept")


# --- the chDB lock held by another process ------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    import clickhouse_connect
    from analytics_assets.resources import ClickHouseResource
    if sys.argv[3] == "ours":  # through the resource: our file lock, then the engine
        with ClickHouseResource(dsn=sys.argv[1]).get_client() as wh:
            print("holding", flush=True)
            time.sleep(float(sys.argv[2]))
    else:  # another program opening the directory with chDB directly (no file lock of ours)
        client = clickhouse_connect.get_client(dsn=sys.argv[1])
        client.command("SELECT 1")
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold(ch: ClickHouseResource, seconds: float, how: str = "ours") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, ch.dsn, str(seconds), how], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_job_waits_for_the_engine_held_by_another_process_or_fails_naming_it(tmp_path, pg_dsn, figures):
    ch, before, after = prepared(pg_dsn, tmp_path, seed=51)
    impatient = chdb(tmp_path / "clickhouse", lock_timeout_seconds=1)
    holder = _hold(ch, 600)
    try:
        started = time.monotonic()
        result = refresh(pg_dsn, impatient)
        seconds_to_fail = time.monotonic() - started
        assert not result.success
        assert f"is in use by another process (pid {holder.pid}) for more than 1 s" in failures(result)
    finally:
        holder.kill()  # SIGKILL: the lock dies with its holder
        holder.wait()
    assert checksums(ch) == before

    holder = _hold(ch, 3)
    started = time.monotonic()
    result = refresh(pg_dsn, ch)  # the default: wait (up to 30 min)
    waited_run = time.monotonic() - started
    assert holder.poll() == 0, "the run finished while the other process still held the engine"
    succeeded(result)
    assert checksums(ch) == after
    figures.record("faults", "chDB lock held (timeout 1 s): seconds to fail (3 ingest steps x 1 s), naming the pid",
                   f"{seconds_to_fail:.2f}")
    figures.record("faults", "chDB lock held 3 s by another process: job seconds (waited, then ran)",
                   f"{waited_run:.2f}")


def test_another_program_holding_the_chdb_directory_fails_the_job_clearly_and_a_rerun_converges(
        tmp_path, pg_dsn, figures):
    """Something that opens the directory with chDB itself (a notebook, a script) takes chDB's
    own lock, not ours: the run cannot wait for it, and must say what is wrong."""
    ch, before, after = prepared(pg_dsn, tmp_path, seed=61)
    holder = _hold(ch, 600, how="chdb")
    try:
        started = time.monotonic()
        result = refresh(pg_dsn, ch)
        seconds_to_fail = time.monotonic() - started
        assert not result.success
        text = failures(result)
        assert f"is open in another process (pid {holder.pid}) that does not take" in text, text
    finally:
        holder.kill()
        holder.wait()
    assert checksums(ch) == before
    succeeded(refresh(pg_dsn, ch))
    assert checksums(ch) == after
    figures.record("faults", "chDB directory opened by another program: seconds to fail", f"{seconds_to_fail:.2f}")


# --- no space left in the data directory --------------------------------------------------------

@contextlib.contextmanager
def small_filesystem(path: Path, size_mb: int) -> Iterator[str]:
    """A tmpfs of `size_mb` at `path` ("tmpfs"), or nothing where mounting is refused
    ("refused: ..."): the caller then injects ENOSPC instead."""
    path.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                           capture_output=True, text=True) if shutil.which("mount") else None
    if mount is None or mount.returncode != 0:
        yield f"refused: {(mount.stderr.strip() if mount else 'no mount command')[:100]}"
        return
    try:
        yield "tmpfs"
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(folder: Path) -> int:
    """Write a file until the filesystem is full; returns the bytes written."""
    written = 0
    block = b"\0" * (1 << 20)
    with open(folder / "filler", "wb", buffering=0) as out:
        while True:
            try:
                written += out.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    for size in (1 << 16, 4096, 1):  # the last pages too
        with open(folder / "filler", "ab", buffering=0) as out:
            with contextlib.suppress(OSError):
                while True:
                    written += out.write(b"\0" * size)
    return written


def test_no_space_left_in_the_data_directory_fails_clearly_keeps_the_tables_and_a_rerun_converges(
        tmp_path, pg_dsn, monkeypatch, figures):
    data = tmp_path / "data"
    with small_filesystem(data, size_mb=128) as how:
        monkeypatch.setenv("ANALYTICS_DATA_DIR", str(data))
        ch = chdb(data / "clickhouse", lock_timeout_seconds=5)
        ch, before, after = prepared(pg_dsn, tmp_path, seed=71, ch=ch)
        if how == "tmpfs":
            _fill(data)
        else:  # no mount here: the engine's write of the new rows fails as a full disk would make it
            from analytics_assets.resources.clickhouse import Warehouse

            def full(self, *args, **kwargs):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(data))
            monkeypatch.setattr(Warehouse, "raw_insert", full)
        started = time.monotonic()
        result = refresh(pg_dsn, ch)
        seconds_to_fail = time.monotonic() - started
        assert not result.success
        text = failures(result)
        causes = [s for s in ("No space left on device", "Not enough space", "NOT_ENOUGH_SPACE", "Cannot reserve")
                  if s in text]
        assert causes, text
        full_readable = "yes"
        try:
            assert_complete_versions(checksums(ch), before, after, unchanged=("raw_sales", "sales_fact", *MART_NAMES))
        except Exception as exc:  # noqa: BLE001 - reading on a full disk: recorded, checked again below
            full_readable = f"no: {str(exc).splitlines()[0][:120]}"
        if how == "tmpfs":
            (data / "filler").unlink()
        else:
            monkeypatch.undo()
            monkeypatch.setenv("ANALYTICS_DATA_DIR", str(data))
        assert_complete_versions(checksums(ch), before, after, unchanged=("raw_sales", "sales_fact", *MART_NAMES))
        started = time.monotonic()
        succeeded(refresh(pg_dsn, ch))
        recovered = time.monotonic() - started
        assert checksums(ch) == after
    figures.record("faults", "no space left: how", how if how == "tmpfs" else f"injected ENOSPC ({how})")
    figures.record("faults", "no space left: seconds to fail", f"{seconds_to_fail:.2f}")
    figures.record("faults", "no space left: failed steps, cause named",
                   f"{', '.join(sorted(failed_steps(result)))}: {causes[0]}")
    figures.record("faults", "no space left: tables readable while the disk is full", full_readable)
    figures.record("faults", "no space left: seconds to recover after freeing space", f"{recovered:.2f}")


# --- SMTP down ----------------------------------------------------------------------------------

class FlakyInbox(Inbox):
    """A real SMTP server that goes down after `accept` messages: it answers 421 (service not
    available) to every message after those."""

    def __init__(self, accept: int):
        super().__init__()
        self.accept = accept

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if len(self.messages) >= self.accept:
            return "421 4.3.2 Service not available, closing transmission channel"
        return await super().handle_DATA(server, session, envelope)


@contextlib.contextmanager
def smtp(handler) -> Iterator[int]:
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def test_smtp_down_before_and_during_a_report_delivery_keeps_the_file_and_each_recipient_gets_one_mail(
        sales, figures):
    from analytics_assets.reports.assets import build_report_assets, report_path
    from analytics_assets.reports.spec import parse_report
    from analytics_assets.resources.smtp import SmtpResource

    recipients = ["management@company.com", "cfo@company.com", "ops@company.com"]
    spec = parse_report({"name": "reliability_report", "date_range": "previous_month", "schedule": "0 8 1 * *",
                         "recipients": recipients}, source="test")
    file_asset, delivery_asset = build_report_assets(spec, retries=None)

    def deliver(port: int) -> dg.ExecuteInProcessResult:
        server = SmtpResource(host="127.0.0.1", port=port, sender="reports@company.com", timeout_s=5)
        return dg.materialize([file_asset, delivery_asset], selection=[delivery_asset.key], partition_key="2026-10-01",
                              resources={"clickhouse": sales, "smtp": server}, raise_on_error=False)

    def log() -> list[tuple]:
        with sales.get_client() as wh:
            return wh.rows("SELECT recipient, status, attempts FROM report_deliveries FINAL ORDER BY recipient")

    dg.materialize([file_asset], partition_key="2026-10-01", resources={"clickhouse": sales})
    path = report_path(spec, "2026-10")
    content = path.read_bytes()

    started = time.monotonic()
    down = deliver(free_port())  # nothing listens
    seconds_to_fail = time.monotonic() - started
    assert not down.success
    assert "Connection refused" in failures(down) and "the file stays at" in failures(down)
    assert log() == sorted((r, "failed", 1) for r in recipients)

    flaky = FlakyInbox(accept=1)
    with smtp(flaky) as port:
        during = deliver(port)  # goes down after the first message
    assert not during.success
    assert "421" in failures(during)
    (first,) = [m["To"] for m in flaky.messages]
    assert log() == sorted((r, "sent" if r == first else "failed", 2) for r in recipients)

    inbox = Inbox()
    with smtp(inbox) as port:
        succeeded(deliver(port))
        succeeded(deliver(port))  # and again: nobody twice
    assert sorted(m["To"] for m in inbox.messages) == sorted(r for r in recipients if r != first)
    assert path.read_bytes() == content
    assert log() == sorted((r, "sent", 2 if r == first else 3) for r in recipients)
    figures.record("faults", "SMTP down (report delivery): seconds to fail, 3 recipients", f"{seconds_to_fail:.2f}")
    figures.record("faults", "SMTP down (report delivery): messages per recipient after recovery",
                   "1 each (3 of 3)")


def test_smtp_down_for_the_run_failure_alert_delays_it_and_loses_nothing(monkeypatch, capfd, figures):
    from analytics_assets.operations.alerts import ALERT_TAG
    from analytics_assets.operations.sensors import failure_alerts_due, run_failure_email
    from analytics_assets.resources.smtp import SmtpResource

    @dg.asset
    def broken_table():
        raise RuntimeError("ClickHouse refused the insert")

    def server(port: int) -> SmtpResource:
        return SmtpResource(host="127.0.0.1", port=port, sender="alerts@company.com", timeout_s=5)

    def alert(instance, result, port: int) -> None:
        evaluate_run_status_sensor(run_failure_email, instance, result.run_id, smtp=server(port))

    def due(instance, port: int):
        return failure_alerts_due(dg.build_sensor_context(instance=instance, resources={"smtp": server(port)}))

    monkeypatch.setenv("ANALYTICS_ALERT_RECIPIENTS", "oncall@company.com")
    monkeypatch.setenv("ANALYTICS_SMTP_HOST", "127.0.0.1")
    with dg.instance_for_test() as instance:
        first = dg.materialize([broken_table], instance=instance, raise_on_error=False)
        down = free_port()
        started = time.monotonic()
        capfd.readouterr()
        alert(instance, first, down)  # must not raise: a sensor that raises would stop alerting
        seconds = time.monotonic() - started
        logged = capfd.readouterr().err
        assert f"could not send the failure alert for run {first.run_id}" in logged, logged
        assert f"SMTP 127.0.0.1:{down}" in logged and "ConnectionRefusedError" in logged
        assert instance.get_run_by_id(first.run_id).tags[ALERT_TAG] == "unsent"
        due(instance, down)  # still down: it keeps waiting
        assert instance.get_run_by_id(first.run_id).tags[ALERT_TAG] == "unsent"

        second = dg.materialize([broken_table], instance=instance, raise_on_error=False)
        inbox = Inbox()
        with smtp(inbox) as port:
            alert(instance, second, port)  # the server is back: the new alert goes out
            due(instance, port)  # and the one that waited, once
            due(instance, port)
        tags = [instance.get_run_by_id(r.run_id).tags[ALERT_TAG] for r in (first, second)]
    assert tags == ["sent", "sent"]
    bodies = [m.get_payload(decode=True).decode() for m in inbox.messages]
    assert len(bodies) == 2 and second.run_id in bodies[0] and first.run_id in bodies[1]
    assert all("ClickHouse refused the insert" in body for body in bodies)
    figures.record("faults", "SMTP down (run-failure alert): seconds to give up, logged", f"{seconds:.2f}")
    figures.record("faults", "SMTP down (run-failure alert): alerts delivered after recovery", "2 of 2, once each")


# --- concurrency: every schedule and sensor firing at once --------------------------------------

LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on RunConfigValidationInvalid { errors { message } } } }"""
RUNS = """{ runsOrError { ... on Runs { results { runId jobName status creationTime startTime endTime
  tags { key value } } } } }"""


def _landing_file(folder: Path, day: datetime) -> None:
    """One hour-by-hour file of two metrics for `day` (UTC), complete hours only."""
    now = datetime.now(timezone.utc)
    lines = []
    for hour in range(24):
        ts = day.replace(hour=hour, minute=5, second=0, microsecond=0)
        if ts >= now - timedelta(minutes=10):
            break
        for metric, value in (("pageviews", 100 + hour), ("sessions", 40 + hour)):
            lines.append(json.dumps({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "metric_name": metric,
                                     "metric_value": value, "dimensions": {"device": "desktop"}, "tags": ["t"]}))
    (folder / f"metrics-{day:%Y%m%d}.ndjson").write_text("\n".join(lines) + "\n")


def _requests(today: datetime) -> list[tuple[str, str, dict]]:
    """(what fires, job, tags) for every schedule and sensor of analytics_assets.definitions that
    launches runs, in the order their ticks come (several partitions where partitioned)."""
    days = [(today - timedelta(days=n)).date().isoformat() for n in range(4)]
    hour = {AS_OF_TAG: today.replace(minute=0, second=0, microsecond=0).isoformat()}
    day = lambda n: {"dagster/partition": days[n], **hour}  # noqa: E731
    days_range = {"dagster/asset_partition_range_start": days[3], "dagster/asset_partition_range_end": days[2]}
    return [
        ("hourly_refresh", "hourly_refresh_job", {}),
        ("ingest_hourly", "ingest_job", {}),
        ("source_changed_sensor", "ingest_job", {}),
        ("source_changed_refresh", "hourly_refresh_job", {}),
        ("ingest_reconcile_daily", "ingest_reconcile_job", {}),
        ("sales_dashboard_hourly", "sales_dashboard_job", {}),
        ("sales_dashboard_after_ingest", "sales_dashboard_job", {AS_OF_TAG: AS_OF.isoformat()}),
        ("web_landing_sensor", "web_analytics_job", day(1)),
        ("web_landing_sensor", "web_analytics_job", day(0)),
        ("events_landing_sensor", "events_job", day(1)),
        ("events_hourly", "events_job", day(0)),
        ("customer_segmentation_daily", "customer_segmentation_job", {}),
        ("customer_360_hourly", "customer_360_job", {}),
        ("sales_dashboard_dm_refresh", "__anonymous_asset_job_sales_dashboard_dm_refresh", {}),
        ("web_analyses_hourly", "web_analyses_job", day(0)),
        ("web_analyses_for_loaded_days", "web_analyses_job", days_range),
        ("funnels_for_loaded_days", "funnels_job", days_range),
        ("monthly_sales_summary_schedule", "monthly_sales_summary_job", {"dagster/partition": "2026-05-01"}),
        ("monthly_sales_summary_schedule", "monthly_sales_summary_job", {"dagster/partition": "2026-06-01"}),
        ("report_deliveries_due", "monthly_sales_summary_delivery_job", {"dagster/partition": "2026-05-01"}),
        ("bi_job (launched by hand)", "bi_job", {}),
        ("ingest_hourly (next tick)", "ingest_job", {}),
        ("sales_dashboard_hourly (next tick)", "sales_dashboard_job", {}),
    ]


def _all_jobs() -> set[str]:
    from analytics_assets.definitions import defs

    return {job.name for job in defs.get_repository_def().get_all_jobs() if job.name != "__ASSET_JOB"}


def test_every_schedule_and_sensor_firing_at_once_all_runs_succeed_on_the_embedded_engine(
        tmp_path, pg_dsn, postgres_server, smtp_server, figures):
    """20+ runs queued at once on the production instance (dagster-postgres, QueuedRunCoordinator,
    the `chdb` pool: one run at a time), dequeued by the real daemon of `dagster dev`; the
    sensors that run by default (landing files, loaded days, deliveries due, automation) fire
    too. Every run must succeed: none may fail on the engine's lock."""
    from analytics_assets_tests.test_job_execute import production_instance

    controller, inbox = smtp_server
    today = datetime.now(timezone.utc)
    requests = _requests(today)
    missing = _all_jobs() - {job for _, job, _ in requests}
    assert not missing, f"jobs no request here launches (add the schedule or sensor that does): {sorted(missing)}"
    generator.generate(pg_dsn, customers=120, products=20, sales=1200, seed=81, as_of=AS_OF)
    with production_instance(tmp_path, pg_dsn, postgres_server) as (env, _):
        landing = tmp_path / "data" / "landing" / "web"
        landing.mkdir(parents=True)
        for n in (3, 2, 1, 0):
            _landing_file(landing, today - timedelta(days=n))
        events = tmp_path / "data" / "landing" / "events"
        events.mkdir(parents=True)
        for n in (1, 0):
            event_files.write_hour(events, (today - timedelta(days=n, hours=1)).replace(minute=0, second=0,
                                                                                        microsecond=0), customers=120)
        env.update(ANALYTICS_AS_OF=AS_OF.isoformat(), ANALYTICS_SMTP_HOST="127.0.0.1",
                   ANALYTICS_SMTP_PORT=str(controller.port), ANALYTICS_SMTP_SENDER="reports@company.com")
        with dagster_dev(env, tmp_path / "dagster-dev.log") as base:
            submitted = {}
            started = time.monotonic()
            for trigger, job, tags in requests:
                params = {"selector": {"repositoryLocationName": "analytics_assets",
                                       "repositoryName": "__repository__", "jobName": job},
                          "runConfigData": {}, "executionMetadata": {
                              "tags": [{"key": k, "value": v} for k, v in {**tags, "test/trigger": trigger}.items()]}}
                launched = graphql(base, LAUNCH, {"params": params})["launchRun"]
                assert launched["__typename"] == "LaunchRunSuccess", (trigger, launched)
                submitted[launched["run"]["runId"]] = trigger
            submit_seconds = time.monotonic() - started

            deadline = time.monotonic() + 600
            while True:
                runs = graphql(base, RUNS)["runsOrError"]["results"]
                active = [r for r in runs if r["status"] not in ("SUCCESS", "FAILURE", "CANCELED")]
                mine = [r for r in runs if r["runId"] in submitted]
                if len(mine) == len(submitted) and not active:
                    break
                assert time.monotonic() < deadline, f"still running after 600 s: {active}"
                time.sleep(2)
            wall = time.monotonic() - started

    failed = [(r["jobName"], submitted.get(r["runId"], "a sensor of the daemon"), r["status"]) for r in runs
              if r["status"] != "SUCCESS"]
    assert not failed, f"{failed}; see {tmp_path / 'dagster-dev.log'}"
    assert len(runs) >= len(submitted) >= 20
    waits = [r["startTime"] - r["creationTime"] for r in runs if r["startTime"]]
    durations = [r["endTime"] - r["startTime"] for r in runs if r["startTime"] and r["endTime"]]
    assert sorted(m["To"] for m in inbox.messages) == ["management@company.com"] * 2  # 2026-05/06, once each
    figures.record("concurrency", "runs submitted at once (schedules and sensors)", len(submitted))
    figures.record("concurrency", "runs launched by the daemon's own sensors", len(runs) - len(submitted))
    figures.record("concurrency", "runs succeeded", f"{sum(r['status'] == 'SUCCESS' for r in runs)}/{len(runs)}")
    figures.record("concurrency", "seconds to submit them all", f"{submit_seconds:.1f}")
    figures.record("concurrency", "wall seconds, first submission to last run done", f"{wall:.1f}")
    figures.record("concurrency", "max queue wait (s; daemon polls the queue every 1 s)", f"{max(waits):.1f}")
    figures.record("concurrency", "median run duration (s)", f"{sorted(durations)[len(durations) // 2]:.1f}")
