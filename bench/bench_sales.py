"""Sales dashboard benchmark: the seed's way against this pipeline, same data, same run.

Prints figures, asserts nothing. First the code location's import time (this tree, and with
`--base-tree` a checkout of an older commit for comparison). Then for each size:
  * the seed's way: its six PostgreSQL queries (CURRENT_DATE -> the logical date), pandas
    DataFrames, the JSON round trip through "XCom", `ALTER TABLE ... DELETE` and `insert_df`
    into ClickHouse; reported as SQL time and total;
  * this pipeline, through `dagster job execute` (`ingest_job`, then `sales_dashboard_job`), on
    a fresh embedded ClickHouse (full), then after `generate --activity` (incremental): wall time
    of each command, process start included, and the sum of its steps (the refresh work);
  * the hourly refresh as one command, `hourly_refresh_job` (replicas, sales_fact, the marts and
    customer_360), after another hour of activity: wall time, steps (with and without
    customer_360, which the two-command path does not build), peak RSS, and the rows PostgreSQL
    read (pg_stat_user_tables, seq + index tuples of the three source tables).
Each measured thing runs in its own process, so peak RSS is its own.

    .venv/bin/python bench/bench_sales.py --sales 1000000 10000000 --base-tree ../wt-base
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import os
import time

import psycopg

from common import REPO, WORK, dagster_execute, fresh_database, job_env, start_server

GENERATED_AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)

SEED_WAY = r'''
import io, json, resource, sys, time
from pathlib import Path
import pandas as pd, psycopg, clickhouse_connect
dsn, ch_path, as_of = sys.argv[1:4]
queries = json.loads(Path(sys.argv[4]).read_text())
started = time.perf_counter()
frames = {}
with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn:
    for name, query in queries.items():
        cur = conn.execute(query, {"as_of": as_of, "as_of_date": as_of[:10]})
        frames[name] = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
sql_seconds = time.perf_counter() - started
d = frames["daily_metrics"]
d["items_per_order"] = d["total_units_sold"].astype(float) / d["total_orders"]
d["discount_rate"] = d["total_discounts"].astype(float) / d["gross_revenue"].astype(float)
c = frames["category_performance"]
c["revenue_share"] = (c["revenue"].astype(float) / c["revenue"].astype(float).sum() * 100).round(2)
# XCom: every frame through JSON and back, as the seed's tasks do.
frames = {k: pd.read_json(io.StringIO(v.to_json(orient="records", date_format="iso")), orient="records")
          for k, v in frames.items()}
client = clickhouse_connect.get_client(dsn=f"chdb://{ch_path}")
client.command("CREATE DATABASE IF NOT EXISTS seed")
for name, frame in frames.items():
    table = f"seed.dashboard_{name}"
    cols = ", ".join(f"`{col}` {'Float64' if frame[col].dtype.kind in 'fiu' else 'String'}" for col in frame.columns)
    client.command(f"CREATE TABLE IF NOT EXISTS {table} ({cols}) ENGINE = ReplacingMergeTree ORDER BY tuple()")
    client.command(f"ALTER TABLE {table} DELETE WHERE 1=1")
    frame = frame.apply(lambda s: s.astype(str) if s.dtype.kind not in "fiu" else s.astype(float))
    client.insert_df(table, frame)
client.close()
print(json.dumps({"sql_seconds": sql_seconds, "seconds": time.perf_counter() - started,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''

SEED_QUERIES = {
    "daily_metrics": "dashboard_daily_metrics",
    "category_performance": "dashboard_category_performance",
    "regional_breakdown": "dashboard_regional_breakdown",
    "yoy_comparison": "dashboard_yoy_comparison",
    "top_customers": "dashboard_top_customers",
    "top_products": "dashboard_top_products",
}


def seed_queries() -> dict:
    """The seed's SQL as the parity test runs it (analytics_assets_tests/sales/seed_sql)."""
    folder = REPO / "analytics_assets_tests" / "sales" / "seed_sql"
    return {key: (folder / f"{name}.sql").read_text() for key, name in SEED_QUERIES.items()}


def run_seed_way(dsn: str, ch: Path, as_of: str) -> dict:
    queries = WORK / "seed_queries.json"
    queries.write_text(json.dumps(seed_queries()))
    out = subprocess.run([sys.executable, "-c", SEED_WAY, dsn, str(ch), as_of, str(queries)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def import_seconds(tree: Path | None, runs: int = 3) -> float:
    """Best of `runs`: a fresh `python -c "import analytics_assets.definitions"` (process start included)."""
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else dict(os.environ)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import analytics_assets.definitions"], check=True, env=env, cwd="/",
                       capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def source_rows_read(dsn: str) -> int:
    """seq_tup_read + idx_tup_fetch over the three source tables (PostgreSQL's own count)."""
    time.sleep(1.5)  # other backends flush their statistics about once a second
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(conn.execute("SELECT sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))"
                                " FROM pg_stat_user_tables WHERE relname IN ('sales', 'customers', 'products')"
                                ).fetchone()[0])


def main() -> None:
    from analytics_assets.demo import generator

    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--base-tree", type=Path, help="a checkout of an older commit, for the import time")
    parser.add_argument("--same-rate", action="store_true",
                        help="every size gets the smallest size's hourly change (new sales, status changes), "
                        "so that a larger size measures a larger table, not a larger change")
    args = parser.parse_args()
    smallest = min(args.sales)
    print(f"import analytics_assets.definitions: {import_seconds(None):.2f} s"
          + (f" (base tree: {import_seconds(args.base_tree):.2f} s)" if args.base_tree else ""), flush=True)
    server = start_server()
    table, hourly_rows = [], []
    for sales in args.sales:
        rate = smallest / sales if args.same_rate else 1.0
        print(f"{sales:,} sales:", flush=True)
        dsn = fresh_database(server, f"bench_sales_{sales}", customers=max(100, sales // 20), products=500,
                             sales=sales, as_of=GENERATED_AS_OF)
        shutil.rmtree(WORK / f"ch_seed_{sales}", ignore_errors=True)
        env = job_env(dsn, WORK / f"ch_sales_{sales}", WORK / f"dagster_home_{sales}", GENERATED_AS_OF.isoformat())
        for phase in ("full", "after activity"):
            if phase == "after activity":
                activity = generator.apply_activity(dsn, seed=1, rate=rate)
                env["ANALYTICS_AS_OF"] = activity.window_end.isoformat()
                print(f"  activity: {activity.new_sales:,} new sales, {activity.status_changes:,} status changes",
                      flush=True)
            seed = run_seed_way(dsn, WORK / f"ch_seed_{sales}", env["ANALYTICS_AS_OF"])
            ingest = dagster_execute("ingest_job", env)
            marts = dagster_execute("sales_dashboard_job", env)
            ours_work = ingest["steps"] + marts["steps"]
            ours_wall = ingest["wall"] + marts["wall"]
            print(f"  {phase}: seed's way {seed['seconds']:.2f} s (SQL {seed['sql_seconds']:.2f} s, "
                  f"peak {seed['peak_rss_mb']:.0f} MB); ours: steps {ours_work:.2f} s, dagster job execute x2 "
                  f"{ours_wall:.2f} s (peak {max(ingest['peak_rss_mb'], marts['peak_rss_mb']):.0f} MB)", flush=True)
            table.append((sales, phase, seed, ours_work, ours_wall, max(ingest["peak_rss_mb"], marts["peak_rss_mb"])))
            if phase == "full":  # customer_360 (in the hourly job) needs the segments, and its first
                dagster_execute("customer_segmentation_job", env)  # (full) build is not the hourly one
                dagster_execute("customer_360_job", env)
        activity = generator.apply_activity(dsn, seed=2, rate=rate)
        env["ANALYTICS_AS_OF"] = activity.window_end.isoformat()
        seed = run_seed_way(dsn, WORK / f"ch_seed_{sales}", env["ANALYTICS_AS_OF"])
        before = source_rows_read(dsn)
        hourly = dagster_execute("hourly_refresh_job", env)
        read = source_rows_read(dsn) - before
        without_360 = hourly["steps"] - sum(v for k, v in hourly["by_step"].items() if k.startswith("customer_360"))
        print(f"  hourly_refresh_job after another hour ({activity.new_sales:,} new sales, "
              f"{activity.status_changes:,} status changes): wall {hourly['wall']:.2f} s, steps {hourly['steps']:.2f} s "
              f"({without_360:.2f} s without customer_360), peak {hourly['peak_rss_mb']:.0f} MB, "
              f"PostgreSQL read {read:,} rows; seed's SQL {seed['sql_seconds']:.2f} s", flush=True)
        slowest = sorted(hourly["by_step"].items(), key=lambda kv: -kv[1])[:8]
        print("    slowest steps: " + ", ".join(f"{k} {v:.2f}" for k, v in slowest), flush=True)
        hourly_rows.append((sales, seed, hourly, without_360, read, activity))
    print()
    print("| sales | phase | seed's way s (its SQL s) | ours: steps s | ratio | ours: `dagster job execute` x2 s | peak RSS MB seed / ours |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for sales, phase, seed, work, wall, peak in table:
        print(f"| {sales:,} | {phase} | {seed['seconds']:.2f} ({seed['sql_seconds']:.2f}) | {work:.2f} |"
              f" {seed['seconds'] / work:.1f}x | {wall:.2f} | {seed['peak_rss_mb']:.0f} / {peak:.0f} |")
    print()
    print("| sales | the hour's change | seed's way s (its SQL s) | hourly_refresh_job steps s (without customer_360)"
          " | work ratio | `dagster job execute` wall s | wall / seed's SQL | peak RSS MB | PostgreSQL rows read |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for sales, seed, hourly, without_360, read, activity in hourly_rows:
        print(f"| {sales:,} | {activity.new_sales:,} new, {activity.status_changes:,} status changes"
              f" | {seed['seconds']:.2f} ({seed['sql_seconds']:.2f}) | {hourly['steps']:.2f}"
              f" ({without_360:.2f}) | {seed['seconds'] / hourly['steps']:.1f}x | {hourly['wall']:.2f}"
              f" | {hourly['wall'] / seed['sql_seconds']:.2f} | {hourly['peak_rss_mb']:.0f} | {read:,} |")
    if len(hourly_rows) > 1:
        (small, _, h_small, *_), (large, _, h_large, *_) = hourly_rows[0], hourly_rows[-1]
        print(f"\nhourly refresh at {large:,} / at {small:,}: wall {h_large['wall'] / h_small['wall']:.2f},"
              f" steps {h_large['steps'] / h_small['steps']:.2f}")


if __name__ == "__main__":
    main()
