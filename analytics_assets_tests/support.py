"""What several test packages share: a handful of known sales, a free local port, an inbox for a
real SMTP server, the environment of a Dagster subprocess, and `dagster dev` with its GraphQL."""

from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from datetime import date, datetime, timezone
from decimal import Decimal

SALES = [  # sale_id, day, customer, segment, region, category, quantity, net, status
    (1, "2026-10-03", 1, "Enterprise", "North America", "Electronics", 2, "100.00", "COMPLETED"),
    (2, "2026-10-03", 2, "SMB", "Europe", "Apparel", 1, "50.50", "COMPLETED"),
    (3, "2026-10-20", 1, "Enterprise", "North America", "Electronics", 1, "25.25", "COMPLETED"),
    (4, "2026-10-21", 3, "Consumer", "Europe", "Home", 5, "999.00", "COMPLETED"),  # filtered out: segment
    (5, "2026-10-22", 4, "SMB", "Asia Pacific", "Home", 1, "77.00", "COMPLETED"),  # filtered out: region
    (6, "2026-10-23", 2, "SMB", "Europe", "Apparel", 1, "10.00", "CANCELLED"),  # not completed
    (7, "2026-09-15", 1, "Enterprise", "North America", "Electronics", 1, "40.00", "COMPLETED"),  # September
    (8, "2026-11-01", 1, "Enterprise", "North America", "Electronics", 1, "60.00", "COMPLETED"),  # November
]


def load_known_sales(wh) -> None:
    """`sales_fact` (its real DDL) holding SALES, each product id following its category."""
    from analytics_assets.sales import fact
    from analytics_assets.warehouse.sql import run_script, sql_file

    run_script(wh, sql_file(fact.__file__, "sales_fact_table"), target="sales_fact")
    insert_sales(wh, SALES)


def insert_sales(wh, sales) -> None:
    """Rows like SALES into `sales_fact` (sold at noon UTC)."""
    wh.insert_rows("sales_fact", [
        (sid, date.fromisoformat(day), datetime.fromisoformat(f"{day}T12:00:00+00:00"), cid, seg, region,
         cat, qty,
         Decimal(net), status, 1, 1, datetime(2026, 11, 1, tzinfo=timezone.utc), f"Customer {cid}",
         f"Product {cat}", ("Electronics", "Apparel", "Home").index(cat) + 1)
        for sid, day, cid, seg, region, cat, qty, net, status in sales],
        ["sale_id", "sale_day", "sale_date", "customer_id", "customer_segment", "region", "category",
         "quantity", "net_amount", "status", "customer_found", "product_found", "updated_at", "customer_name",
         "product_name", "product_id"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


class Webhook:
    """A real HTTP server on 127.0.0.1 keeping the JSON body of every POST (answers 200, or
    `status` when set, e.g. 500 to play a webhook that is down)."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        self.bodies: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if hook.status == 200:
                    assert self.headers["Content-Type"] == "application/json"
                    hook.bodies.append(json.loads(body))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/sEcReTtOkEn"
        Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


REPO = Path(__file__).resolve().parents[1]
DAGSTER = str(Path(sys.executable).with_name("dagster"))


def job_env(tmp_path: Path, pg_dsn: str, home: Path, **extra: str) -> dict:
    """The environment of a `dagster` subprocess on a fresh embedded ClickHouse in `tmp_path`, the
    source `pg_dsn` and the instance `home`; no ANALYTICS_/DAGSTER_ variable of ours leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    env.update(ANALYTICS_POSTGRES_DSN=pg_dsn, ANALYTICS_CLICKHOUSE_DSN=f"chdb://{tmp_path / 'clickhouse'}",
               ANALYTICS_DATA_DIR=str(tmp_path / "data"), DAGSTER_HOME=str(home), **extra)
    return env


@contextmanager
def dagster_dev(env: dict, log_path: Path) -> Iterator[str]:
    """`dagster dev` on 127.0.0.1 with `env`, answering: yields its base URL; its whole process
    group is stopped at the end. Its output goes to `log_path`, not to a pipe nobody reads (it
    would fill and block)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        server = subprocess.Popen([DAGSTER, "dev", "-h", "127.0.0.1", "-p", str(port)], cwd=REPO, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    urllib.request.urlopen(f"{base}/server_info", timeout=5).read()
                    break
                except OSError:
                    assert time.monotonic() < deadline and server.poll() is None, f"dagster dev did not come up: {log_path}"
                    time.sleep(1)
            yield base
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    """The `data` of a GraphQL request to the Dagster webserver at `base` (errors fail the test)."""
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query, "variables": variables or {}})
                                     .encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def evaluate_run_status_sensor(sensor, instance, run_id: str, **resources):
    """What a run status sensor returns for the end of run `run_id` (success or failure), as the
    daemon would call it; `resources` are the sensor's."""
    import dagster as dg

    run = instance.get_run_by_id(run_id)
    failed = run.status == dg.DagsterRunStatus.FAILURE
    end = dg.DagsterEventType.RUN_FAILURE if failed else dg.DagsterEventType.RUN_SUCCESS
    (record,) = instance.get_records_for_run(run_id, of_type=end).records
    context = dg.build_run_status_sensor_context(sensor_name=sensor.name, dagster_instance=instance, dagster_run=run,
                                                 dagster_event=record.event_log_entry.dagster_event,
                                                 resources=resources or None)
    return sensor(context.for_run_failure() if failed else context)
