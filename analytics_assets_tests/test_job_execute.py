"""`dagster job execute` in real subprocesses: the default instance and the production one."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from analytics_assets.demo import generator
from analytics_assets_tests.ingest.conftest import AS_OF
from analytics_assets_tests.support import DAGSTER, REPO, job_env



@contextmanager
def production_instance(tmp_path: Path, pg_dsn: str, postgres_server) -> Iterator[tuple[dict, str]]:
    """(environment, database): `deploy/dagster.yaml` in a fresh DAGSTER_HOME, on a database of its
    own on the test PostgreSQL (dropped afterwards)."""
    admin = postgres_server.dsn_for("postgres")
    dagster_db = f"dagster_{tmp_path.name[-20:].replace('-', '_').lower()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dagster_db}"')
    try:
        home = tmp_path / "home"
        home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        url = urlsplit(admin)
        env = job_env(tmp_path, pg_dsn, home)
        env.update(
            DAGSTER_PG_HOST=url.hostname, DAGSTER_PG_PORT=str(url.port), DAGSTER_PG_USER=url.username,
            DAGSTER_PG_PASSWORD="unused-with-trust", DAGSTER_PG_DB=dagster_db,
        )
        yield env, dagster_db
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dagster_db}" WITH (FORCE)')


def _execute(env: dict, job: str = "ingest_job") -> subprocess.Popen:
    return subprocess.Popen(
        [DAGSTER, "job", "execute", "-m", "analytics_assets.definitions", "-j", job],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-3000:]
    assert "RUN_SUCCESS" in out
    return out


@pytest.mark.slow
def test_two_overlapping_job_runs_on_the_embedded_engine_both_succeed(tmp_path, pg_dsn, monkeypatch):
    generator.generate(pg_dsn, customers=300, products=40, sales=3000, seed=1, as_of=AS_OF)
    home = tmp_path / "home"
    home.mkdir()
    env = job_env(tmp_path, pg_dsn, home)
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    dg.DagsterInstance.get().dispose()  # create the sqlite storage once; two first users race on it
    first, second = _execute(env), _execute(env)
    outputs = [_finish(first), _finish(second)]
    assert all(out.count("ASSET_CHECK_EVALUATION") == 6 for out in outputs)  # the hourly gates and flags

    from analytics_assets.resources import ClickHouseResource

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert instance.get_latest_materialization_event(dg.AssetKey("raw_sales")) is not None
    with ClickHouseResource(dsn=env["ANALYTICS_CLICKHOUSE_DSN"]).get_client() as wh:
        assert wh.row_count("raw_sales", final=True) == 3000


@pytest.mark.slow
def test_production_instance_on_postgres(tmp_path, pg_dsn, postgres_server):
    generator.generate(pg_dsn, customers=300, products=40, sales=3000, seed=2, as_of=AS_OF)
    with production_instance(tmp_path, pg_dsn, postgres_server) as (env, dagster_db):
        _finish(_execute(env))
        with psycopg.connect(postgres_server.dsn_for(dagster_db)) as conn:
            statuses = conn.execute("SELECT status FROM runs").fetchall()
            materialized = conn.execute(
                "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
            ).fetchone()[0]
    assert statuses == [("SUCCESS",)]
    assert materialized == 3
