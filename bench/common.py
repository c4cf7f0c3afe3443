"""What the benchmarks share: the local server, a freshly generated source database, a clean
environment for `dagster job execute`, and timing one such run."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
WORK = ROOT / ".work"


def start_server():
    """The benchmarks' own PostgreSQL under bench/.work (reachable by the server's OS user)."""
    from analytics_assets.resources.local_postgres import LocalPostgres

    WORK.mkdir(exist_ok=True)
    os.chmod(WORK, 0o755)
    server = LocalPostgres(WORK / "postgres")
    server.start()
    return server


def fresh_database(server, name: str, **generate) -> str:
    """Drop and recreate `name` (earlier runs' activity changed it) as `generate` makes it: generated
    once into a template database named after the parameters, then copied (CREATE DATABASE ...
    TEMPLATE), so a rerun at 30M does not generate again."""
    from analytics_assets.demo import generator

    key = hashlib.sha1(repr(sorted(generate.items())).encode()).hexdigest()[:10]
    template = f"tpl_{key}"
    with psycopg.connect(server.dsn_for("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s AND datistemplate",
                              (template,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
            generator.generate(server.dsn_for(template), seed=42, **generate)
            conn.execute(sql.SQL("ALTER DATABASE {} WITH is_template true ALLOW_CONNECTIONS false").format(
                sql.Identifier(template)))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return server.dsn_for(name)


def job_env(dsn: str, clickhouse: Path, home: Path, as_of: str) -> dict:
    """An environment for `dagster job execute` on a fresh embedded ClickHouse and instance."""
    for path in (clickhouse, home):
        shutil.rmtree(path, ignore_errors=True)
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    env.update(ANALYTICS_POSTGRES_DSN=dsn, ANALYTICS_CLICKHOUSE_DSN=f"chdb://{clickhouse}", DAGSTER_HOME=str(home),
               ANALYTICS_AS_OF=as_of)
    return env


STEP = re.compile(r'Finished execution of step "([^"]+)" in (?:(\d+)m)?([\d.]+)(ms|s)')


def dagster_execute(job: str, env: dict) -> dict:
    """Wall time (process start included), the sum of the steps' own durations, and peak RSS."""
    started = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", str(Path(sys.executable).with_name("dagster")), "job", "execute",
         "-m", "analytics_assets.definitions", "-j", job],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0 or "RUN_SUCCESS" not in proc.stderr + proc.stdout:
        raise RuntimeError((proc.stdout + proc.stderr)[-3000:])
    by_step = {name: 60 * float(m or 0) + float(v) / (1000 if unit == "ms" else 1)
               for name, m, v, unit in STEP.findall(proc.stdout + proc.stderr)}
    peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    return {"wall": wall, "steps": sum(by_step.values()), "by_step": by_step, "peak_rss_mb": peak_mb}
