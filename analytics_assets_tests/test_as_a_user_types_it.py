"""The surfaces as a user types them, on one small project shared by the tests of this module: a
generated source, an hour of web metric and event files, and a fresh data directory whose
instance is the one `analytics-assets env` points `dagster ...` at (no DAGSTER_HOME given).

* every job of the code location through `dagster job execute -m analytics_assets -j JOB`, as the
  README writes it, in order; before its upstream exists, each stops with one line naming the
  missing table and the job that builds it;
* every fenced shell block of the README marked `<!-- runnable -->`, each in a fresh shell;
* `analytics-assets dev` started in the background stops on SIGTERM, daemon included.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from analytics_assets.demo import event_files, generator, web_files
from analytics_assets_tests.support import REPO, free_port

NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
# The README's form of a job run, after the line it gives for a new shell.
ENV_LINE = 'eval "$(.venv/bin/analytics-assets env)"'

# Each job that reads tables another job builds, and the line it stops with before they exist.
BEFORE_UPSTREAM = {
    "sales_dashboard_job": "raw_sales does not exist yet: run ingest_job first",
    "customer_segmentation_job": "sales_fact does not exist yet: run ingest_job, then sales_dashboard_job first",
    "customer_360_job": "does not exist yet: run ingest_job",
    "monthly_sales_summary_job": "sales_fact does not exist yet: run ingest_job, then sales_dashboard_job first",
    "bi_job": "dashboard_daily_metrics does not exist yet: run ingest_job, then sales_dashboard_job first",
}
# Every job, upstream first (the test fails when a job is added to the code location and not here).
IN_ORDER = ["ingest_job", "ingest_reconcile_job", "sales_dashboard_job", "customer_segmentation_job",
            "hourly_refresh_job", "web_analytics_job", "web_analyses_job", "events_job", "funnels_job", "customer_360_job",
            "monthly_sales_summary_job", "monthly_sales_summary_delivery_job", "bi_job"]


class Project:
    def __init__(self, root: Path, pg_dsn: str):
        self.root = root
        self.data = root / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
        # A user's shell after `make demo`: the source is the demo's; nothing else is set.
        env.update(ANALYTICS_DATA_DIR=str(self.data), ANALYTICS_POSTGRES_DSN=pg_dsn,
                   ANALYTICS_DEFINITIONS_DIR=str(root / "definitions"))
        self.env = env
        self.built = False

    def shell(self, script: str, timeout: int = 240) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def job(self, name: str) -> subprocess.CompletedProcess:
        return self.shell(f"{ENV_LINE}\ndagster job execute -m analytics_assets -j {name}")


@pytest.fixture(scope="module")
def project(tmp_path_factory, postgres_server):
    root = tmp_path_factory.mktemp("project")
    name = f"surfaces_{uuid.uuid4().hex[:10]}"
    admin = postgres_server.dsn_for("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = postgres_server.dsn_for(name)
        generator.generate(dsn, customers=300, products=40, sales=3000, seed=15, as_of=NOW - timedelta(hours=1))
        for hours_ago in (2, 1):
            hour = NOW - timedelta(hours=hours_ago)
            web_files.write_hour(root / "data" / "landing" / "web", hour, as_of=hour + timedelta(hours=1))
            event_files.write_hour(root / "data" / "landing" / "events", hour, customers=300)
        yield Project(root, dsn)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_everything(project: Project) -> None:
    for job in IN_ORDER:
        started = time.monotonic()
        done = project.job(job)
        print(f"{job}: {time.monotonic() - started:.1f} s")
        assert done.returncode == 0 and "RUN_SUCCESS" in done.stderr + done.stdout, (job, done.stderr[-3000:])
    project.built = True


@pytest.mark.slow
def test_every_job_runs_as_the_readme_writes_it_and_says_what_to_run_first(project):
    from analytics_assets.definitions import defs

    jobs = {j.name for j in defs.get_repository_def().get_all_jobs() if not j.name.startswith("__")}
    assert set(IN_ORDER) == jobs, "a job of the code location is missing from the README's order"
    for job, line in BEFORE_UPSTREAM.items():
        done = project.job(job)
        out = done.stdout + done.stderr
        assert done.returncode != 0, job
        assert re.search(rf"MissingTable: [a-z_]+ {re.escape(line)}", out) or line in out, (job, out[-3000:])
        assert "Unknown table" not in out and "not found" not in out, (job, out[-3000:])
    build_everything(project)
    # On the project's instance (the UI's), not a throwaway one; a partitioned job ran for today.
    import dagster as dg

    with dg.DagsterInstance.from_config(str(project.data / "dagster_home")) as instance:
        runs = instance.get_runs()
        assert {r.job_name for r in runs if r.status == dg.DagsterRunStatus.SUCCESS} == jobs
        web = next(r for r in runs if r.job_name == "web_analytics_job")
        assert web.tags["dagster/partition"] == datetime.now(timezone.utc).date().isoformat()
        assert instance.get_materialized_partitions(dg.AssetKey("website_metrics_moving_average")) >= {
            web.tags["dagster/partition"]}


def readme_blocks(text: str) -> list[str]:
    """The fenced shell blocks that follow a `<!-- runnable -->` line."""
    return [m.group(1) for m in re.finditer(r"<!-- runnable -->\s*\n```(?:bash|sh|shell)\n(.*?)```", text, re.S)]


@pytest.mark.slow
def test_every_runnable_command_of_the_readme_succeeds(project):
    blocks = readme_blocks((REPO / "README.md").read_text())
    assert len(blocks) >= 4
    if not project.built:
        build_everything(project)
    for block in blocks:
        done = project.shell(block)
        assert done.returncode == 0, (block, done.stdout[-2000:], done.stderr[-3000:])
        assert "Welcome to Dagster" not in done.stdout + done.stderr  # never a throwaway instance


def test_dev_started_in_the_background_stops_on_sigterm(project):
    """A shell starts background jobs with SIGINT ignored; `dagster dev` maps SIGTERM to SIGINT's
    handler, so without `analytics-assets dev` both were ignored and the daemon stayed up."""
    port = free_port()
    log = project.root / "dev.log"
    starter = subprocess.run(
        ["bash", "-c", f"{ENV_LINE}\nanalytics-assets dev -h 127.0.0.1 -p {port} >{log} 2>&1 &\necho $!"],
        cwd=REPO, env=project.env, capture_output=True, text=True, timeout=60)
    pid = int(starter.stdout.strip())
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5).read()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(1)
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2, "the webserver and the daemon"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while any(_alive(int(p)) for p in [pid, *children]):
            assert time.monotonic() < deadline, "still running 60 s after SIGTERM"
            time.sleep(0.5)
        assert "Dagster services shut down" in log.read_text()
    finally:
        for p in [pid, *subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]:
            if _alive(int(p)):
                os.kill(int(p), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split(")")[-1].split()[0] == "Z")
