"""The Dagster UI in a real browser: `dagster dev` on the production instance (dagster-postgres on
a real PostgreSQL), runs launched through GraphQL as the launchpad does, a click on a mart's
Materialize button in headless Chromium (through its DevTools protocol) whose run succeeds, and
the asset graph, checks and schedules pages read (a screenshot is kept)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from analytics_assets.demo import generator
from analytics_assets_tests.ingest.conftest import AS_OF
from analytics_assets_tests.support import REPO, dagster_dev, free_port, graphql
from analytics_assets_tests.test_job_execute import production_instance

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browse(url: str, tmp_path: Path, *extra: str, height: int = 1000) -> str:
    profile = tmp_path / f"chromium-{time.monotonic_ns()}"
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size=1600,{height}",
                          "--virtual-time-budget=30000", *extra, url], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian's chromium package; .ci/run installs it)")
def test_the_ui_shows_the_assets_checks_and_schedules_and_runs_a_job(tmp_path, pg_dsn, postgres_server):
    generator.generate(pg_dsn, customers=200, products=30, sales=2000, seed=4, as_of=AS_OF)
    with production_instance(tmp_path, pg_dsn, postgres_server) as (env, _):
        home = Path(env["DAGSTER_HOME"])
        (home / ".nux").mkdir()
        (home / ".nux" / "nux.yaml").write_text("seen: 1\n")  # no first-visit dialog over the page
        _check_the_ui(tmp_path, env)


def _finished(base: str, run_id: str) -> str:
    deadline = time.monotonic() + 240
    while (status := graphql(base, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                             {"id": run_id})["runOrError"]["status"]) not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(2)
    return status


def _launch(base: str, job: str) -> str:
    launched = graphql(base, """
        mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
          __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        {"params": {"selector": {"repositoryLocationName": "analytics_assets", "repositoryName": "__repository__",
                                 "jobName": job}, "runConfigData": {}}})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def _click_materialize(url: str, tmp_path: Path) -> str:
    """Open `url` in headless Chromium, driven through its DevTools protocol, click the page's
    Materialize button as a user would, and return the page's text a few seconds later."""
    import json
    import urllib.request

    from websockets.sync.client import connect

    port = free_port()
    browser = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-cdp'}",
                                "--window-size=1600,1000", f"--remote-debugging-port={port}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5).read())
                break
            except OSError:
                assert time.monotonic() < deadline, "Chromium's DevTools did not answer"
                time.sleep(0.2)
        with connect(next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"], max_size=None) as ws:
            ids = iter(range(1, 10_000))

            def call(method: str, **params):
                key = next(ids)
                ws.send(json.dumps({"id": key, "method": method, "params": params}))
                while (message := json.loads(ws.recv())).get("id") != key:
                    pass
                return message.get("result", {})

            def js(expression: str):
                return call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

            call("Page.navigate", url=url)
            deadline = time.monotonic() + 60
            while not js("(() => { const b = [...document.querySelectorAll('button')]"
                         ".find(b => b.innerText.trim() === 'Materialize');"
                         " if (!b || b.disabled) return false; b.click(); return true; })()"):
                assert time.monotonic() < deadline, "no Materialize button: " + str(js("document.body.innerText"))[:2000]
                time.sleep(1)
            deadline = time.monotonic() + 30
            while "Launched run" not in (text := js("document.body.innerText")):
                assert time.monotonic() < deadline, text[:2000]
                time.sleep(0.5)
            return text
    finally:
        browser.kill()
        browser.wait()


def _check_the_ui(tmp_path: Path, env: dict) -> None:
    with dagster_dev(env, tmp_path / "dagster-dev.log") as base:
        for job in ("ingest_job", "sales_dashboard_job"):  # through GraphQL, as the UI's launchpad does
            assert _finished(base, _launch(base, job)) == "SUCCESS", job

        # A user's click: Materialize on one mart's page; the run it launched succeeds.
        text = _click_materialize(f"{base}/assets/dashboard_top_products", tmp_path)
        prefix = re.search(r"Launched run ([0-9a-f]{8})", text)[1]
        runs = graphql(base, "{ runsOrError(limit: 5) { ... on Runs { results { runId assetSelection { path } } } } }")
        run = next(r for r in runs["runsOrError"]["results"] if r["runId"].startswith(prefix))
        assert run["assetSelection"] == [{"path": ["dashboard_top_products"]}], run
        assert _finished(base, run["runId"]) == "SUCCESS"

        groups = _browse(f"{base}/asset-groups", tmp_path, "--dump-dom")
        for group in ("ingest", "sales", "customers", "customer360", "web", "events", "datamarts", "reports", "bi"):
            assert f">{group}<" in groups, group
        catalog = _browse(f"{base}/assets", tmp_path, "--dump-dom", height=6000)  # the list renders what fits
        for name in ("raw_sales", "sales_fact", "dashboard_daily_metrics", "customer_segments", "website_metrics",
                     "customer_360", "product_events", "funnel_purchase"):
            assert name in catalog, name
        checks = _browse(f"{base}/assets/raw_sales?view=checks", tmp_path, "--dump-dom")
        assert "source_keys_unique" in checks
        schedules = _browse(f"{base}/automation", tmp_path, "--dump-dom")
        for automation in ("sales_dashboard_hourly", "customer_segmentation_daily", "events_hourly", "customer_360_hourly"):
            assert automation in schedules, automation
        shot = tmp_path / "asset-graph.png"
        _browse(f"{base}/asset-groups", tmp_path, f"--screenshot={shot}")
        assert shot.stat().st_size > 10_000
        kept = REPO / ".ci-artifacts"
        kept.mkdir(exist_ok=True)
        shutil.copy(shot, kept / "asset-graph.png")
