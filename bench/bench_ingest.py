"""Replication benchmark: prints figures, asserts nothing.

For each size: generate the source (once; reused while the database exists), time
`COPY sales TO STDOUT` (the source's read limit), then in each transfer mode a full load into a
fresh embedded ClickHouse, one hour of `generate --activity`, and the incremental refresh.
Each replication runs in its own process so that its peak RSS is its own.

    .venv/bin/python bench/bench_ingest.py --sales 1000000 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from common import WORK, fresh_database, start_server

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)

CHILD = r"""
import json, resource, sys, time
from analytics_assets.ingest.replicate import replicate
from analytics_assets.ingest.sources import SOURCE_TABLES
from analytics_assets.resources import ClickHouseResource, PostgresResource
dsn, ch, mode = sys.argv[1:4]
started = time.perf_counter()
with ClickHouseResource(dsn=ch).get_client() as wh:
    results = [replicate(wh, PostgresResource(dsn=dsn), t, mode=mode) for t in SOURCE_TABLES]
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "sales_seconds": results[-1].seconds,
    "rows_read": sum(r.rows_read for r in results),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def replicate_in_child(dsn: str, ch_dir: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, dsn, f"chdb://{ch_dir}", mode],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def copy_seconds(dsn: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, cur.copy("COPY sales TO STDOUT") as copy:
        for _ in copy:
            pass
    return time.perf_counter() - started


def source_database(server, sales: int) -> str:
    started = time.perf_counter()
    dsn = fresh_database(server, f"bench_{sales}", customers=max(100, sales // 20), products=500, sales=sales,
                         as_of=AS_OF)
    print(f"  generated {sales:,} sales in {time.perf_counter() - started:.1f} s", flush=True)
    return dsn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--modes", nargs="+", default=["server", "client"])
    args = parser.parse_args()

    server = start_server()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {datetime.now(timezone.utc):%Y-%m-%d}")
    rows = []
    for sales in args.sales:
        print(f"{sales:,} sales:", flush=True)
        dsn = source_database(server, sales)
        copy = copy_seconds(dsn)
        print(f"  COPY sales TO STDOUT: {copy:.2f} s", flush=True)
        full = {}
        for mode in args.modes:
            ch = WORK / f"ch_{sales}_{mode}"
            shutil.rmtree(ch, ignore_errors=True)
            full[mode] = replicate_in_child(dsn, ch, mode)
            print(f"  full load, {mode}: {full[mode]['seconds']:.2f} s (sales {full[mode]['sales_seconds']:.2f} s),"
                  f" peak RSS {full[mode]['peak_rss_mb']:.0f} MB", flush=True)
        from analytics_assets.demo import generator

        activity = generator.apply_activity(dsn, seed=1)
        print(f"  activity: {activity.new_sales:,} new sales, {activity.status_changes:,} status changes", flush=True)
        for mode in args.modes:
            inc = replicate_in_child(dsn, WORK / f"ch_{sales}_{mode}", mode)
            print(f"  after activity, {mode}: {inc['seconds']:.2f} s, {inc['rows_read']:,} rows read,"
                  f" peak RSS {inc['peak_rss_mb']:.0f} MB", flush=True)
            rows.append((sales, mode, copy, full[mode], inc))
    print()
    print("| sales | mode | COPY TO STDOUT s | full load s | full / COPY | after activity s | activity / full | peak RSS MB (full) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for sales, mode, copy, full, inc in rows:
        print(f"| {sales:,} | {mode} | {copy:.2f} | {full['seconds']:.2f} | {full['seconds'] / copy:.2f} |"
              f" {inc['seconds']:.2f} | {inc['seconds'] / full['seconds']:.3f} | {full['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
