"""Datamart API benchmark (issue 17): prints figures, asserts nothing.

An embedded ClickHouse with `--sales` synthetic rows in sales_fact (its real DDL), then
`analytics-assets api` on a free 127.0.0.1 port (no Dagster webserver listening), called over
HTTP: the median latency of a refused request (401), of the listing, of validate and create
(ClickHouse's EXPLAIN and DESCRIBE of the query), and of the Excel export of a datamart of
`--days` x 3 regions x 3 categories rows, with and without charts and summary.

    .venv/bin/python bench/bench_api.py --sales 1000000 --days 365
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analytics_assets_tests.api.test_api import API, TOKEN, api_server, call  # noqa: E402


def median_ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.1f} ms (n={len(times)})"


def timed(n: int, request) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        request()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()

    import dagster as dg

    from analytics_assets.datamarts.assets import build_datamart_asset
    from analytics_assets.datamarts.spec import parse_spec
    from analytics_assets.resources import ClickHouseResource
    from analytics_assets.sales import fact
    from analytics_assets.warehouse.sql import run_script, sql_file
    from analytics_assets_tests.support import free_port

    root = Path(tempfile.mkdtemp(prefix="bench-api-"))
    clickhouse = ClickHouseResource(dsn=f"chdb://{root / 'clickhouse'}", database="analytics")
    with clickhouse.get_client() as wh:
        run_script(wh, sql_file(fact.__file__, "sales_fact_table"), target="sales_fact")
        wh.command("INSERT INTO sales_fact (sale_id, sale_day, sale_date, customer_id, customer_segment, region,"
                   " category, quantity, net_amount, status, customer_found, product_found, updated_at)"
                   " SELECT number, toDate('2026-01-01') - (number % {days:UInt32}),"
                   " toDateTime64('2026-01-01 12:00:00', 6, 'UTC'), number % 5000, 'SMB',"
                   " ['Europe', 'North America', 'Asia Pacific'][number % 3 + 1],"
                   " ['Home', 'Apparel', 'Electronics'][intDiv(number, 3) % 3 + 1], 1, toDecimal64(number % 997, 2),"
                   " 'COMPLETED', 1, 1, now64(6) FROM numbers({n:UInt64})", {"n": args.sales, "days": args.days})
    query = ("SELECT sale_day, region, category, sum(net_amount) AS revenue, count() AS orders FROM sales_fact"
             " GROUP BY sale_day, region, category")
    payload = {"name": "bench_dm", "query": query, "indexes": ["sale_day", "region", "category"]}
    dg.materialize([build_datamart_asset(parse_spec(payload, source="bench"), set())], resources={"clickhouse": clickhouse})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    env.update(ANALYTICS_CLICKHOUSE_DSN=clickhouse.dsn, ANALYTICS_DATA_DIR=str(root / "data"),
               ANALYTICS_DATAMARTS_DIR=str(root / "specs"), ANALYTICS_API_TOKENS=TOKEN,
               ANALYTICS_DAGSTER_URL=f"http://127.0.0.1:{free_port()}")
    (root / "specs").mkdir()
    (root / "specs" / "bench_dm.yaml").write_text(json.dumps(payload))  # JSON is YAML

    figures = {}
    with api_server(env, root / "api.log") as base:
        call(base, "GET", f"{API}/datamarts")  # warm up
        figures["401 (wrong token)"] = median_ms(timed(50, lambda: call(base, "GET", f"{API}/datamarts", token="x" * 20)))
        figures["GET datamarts"] = median_ms(timed(50, lambda: call(base, "GET", f"{API}/datamarts")))
        figures["POST validate (ClickHouse EXPLAIN + DESCRIBE)"] = median_ms(timed(
            10, lambda: call(base, "POST", f"{API}/datamarts/validate", {**payload, "name": "other_dm"})))
        created = []

        def create():
            name = f"created_{len(created)}_dm"
            created.append(call(base, "POST", f"{API}/datamarts/create", {**payload, "name": name})[0])
        figures["POST create (no webserver answering)"] = median_ms(timed(10, create))
        rows = call(base, "POST", f"{API}/export/excel/datamart/bench_dm", {})[1]["x-rows"]
        for label, body in (("charts and summary", {}),
                            ("data only", {"include_charts": False, "include_summary": False})):
            sizes = []

            def export():
                sizes.append(len(call(base, "POST", f"{API}/export/excel/datamart/bench_dm", body)[2]))
            figures[f"POST export, {rows} rows, {label}"] = median_ms(timed(3, export)) + f", {sizes[-1] / 2**20:.2f} MiB"
    print(f"sales_fact rows: {args.sales:,}; created: {set(created)}")
    for label, value in figures.items():
        print(f"{label:<55} {value}")
    subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
