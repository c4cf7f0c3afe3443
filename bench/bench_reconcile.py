"""Replica divergence benchmark (issue 19): prints figures, asserts nothing.

On one generated source (reused while the database exists):
  * a full reload of the three replicas into a fresh embedded ClickHouse;
  * the content reconcile when nothing differs, then after 0.1% of the sales were changed behind
    the watermark (updated_at set back 30 days): time, rows repaired, and the rows PostgreSQL read
    (the reconcile's own count, and pg_stat_user_tables' seq + index tuples for `sales`);
  * the hourly refresh after one hour of `generate --activity`, with this change detection and
    with the code before it (`--base-tree`: a checkout of the commit before, imported first),
    each on its own ClickHouse copy of the same replicas.
Each measured step runs in its own process (import and engine start included in `wall`).

    .venv/bin/python bench/bench_reconcile.py --sales 10000000 --base-tree ../wt-base
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql

from common import WORK, fresh_database, start_server

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)

CHILD = r"""
import json, resource, sys, time
from analytics_assets.ingest.replicate import replicate
from analytics_assets.ingest.sources import SOURCE_TABLES
from analytics_assets.resources import ClickHouseResource, PostgresResource
dsn, ch, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
started = time.perf_counter()
with ClickHouseResource(dsn=ch).get_client() as wh:
    results = [replicate(wh, PostgresResource(dsn=dsn), t, **options) for t in SOURCE_TABLES]
sales = results[-1]
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rows_read": sales.rows_read,
    "rows_repaired": getattr(sales, "rows_repaired", None),
    "tombstones": sales.tombstones,
    "buckets": getattr(sales, "buckets_compared", None),
    "buckets_differing": getattr(sales, "buckets_differing", None),
    "source_rows_read": getattr(sales, "source_rows_read", None),
    "full_resync": sales.full_resync,
}))
"""


def sales_tuples_read(dsn: str) -> int:
    """seq_tup_read + idx_tup_fetch of `sales` (PostgreSQL's own count of rows read)."""
    time.sleep(1.5)  # other backends flush their statistics about once a second
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(conn.execute("SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
                                " FROM pg_stat_user_tables WHERE relname = 'sales'").fetchone()[0])


def show(label: str, r: dict) -> None:
    print(f"  {label}: {json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()})}", flush=True)


def step(dsn: str, ch: Path, *, tree: Path | None = None, **options) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else dict(os.environ)
    before = sales_tuples_read(dsn)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, dsn, f"chdb://{ch}", json.dumps(options)],
                          capture_output=True, text=True, env=env, cwd="/")
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**result, "wall": wall, "pg_tuples_read": sales_tuples_read(dsn) - before}


def diverge(dsn: str, every: int) -> int:
    """Change one sale in `every` behind the watermark: new status and amount, updated_at set back
    30 days (a clock-skewed application)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "UPDATE sales SET status = 'CANCELLED', total_amount = total_amount + 1,"
            " updated_at = updated_at - interval '30 days' WHERE sale_id %% %s = 7", (every,)).rowcount


def main() -> None:
    from analytics_assets.demo import generator

    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--base-tree", type=Path, help="a checkout of the code before this change")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    server = start_server()
    name = f"bench_sales_{args.sales}"
    dsn = server.dsn_for("postgres").rsplit("/", 1)[0] + f"/{name}"
    try:
        with psycopg.connect(dsn) as conn:
            have = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
    except psycopg.Error:
        have = None
    if args.regenerate or have is None or have < args.sales:
        dsn = fresh_database(server, name, customers=max(100, args.sales // 20), products=500, sales=args.sales,
                             as_of=AS_OF)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM ANALYZE sales"))
    ch = WORK / f"ch_reconcile_{args.sales}"
    shutil.rmtree(ch, ignore_errors=True)

    rows = []

    def record(label: str, result: dict) -> None:
        rows.append((label, result))
        show(label, result)

    record("full reload (3 replicas)", step(dsn, ch, full_resync=True))
    record("reconcile, nothing differs", step(dsn, ch, reconcile=True))
    changed = diverge(dsn, 1000)
    record(f"reconcile, 0.1% differs ({changed:,} sales changed)", step(dsn, ch, reconcile=True))
    record("reconcile again (converged)", step(dsn, ch, reconcile=True))

    # The hourly refresh, same replicas, same hour: this change twice (before and after the base
    # code, to even out the cache) and the code before it, each on its own copy.
    copies = {label: WORK / f"ch_reconcile_{args.sales}_{label.replace(' ', '_')}"
              for label in ("this change", "before it", "this change again")}
    for label, copy in copies.items():
        shutil.rmtree(copy, ignore_errors=True)
        if label == "before it":
            if args.base_tree is None:
                continue
            step(dsn, copy, tree=args.base_tree, full_resync=True)  # its own schema, loaded by its own code
        else:
            shutil.copytree(ch, copy, symlinks=True)  # chDB's metadata links into its store, relatively
    activity = generator.apply_activity(dsn, seed=1)
    for label, copy in copies.items():
        if copy.exists():
            hourly = step(dsn, copy, tree=args.base_tree if label == "before it" else None)
            record(f"hourly refresh, {label} ({activity.new_sales:,} new sales, "
                   f"{activity.status_changes:,} status changes)", hourly)

    print(f"\n| {args.sales:,} sales | wall s | work s | rows PostgreSQL read (reconcile's count / pg_stat) "
          f"| rows repaired | key ranges (differing) | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for label, r in rows:
        repaired = "" if r["rows_repaired"] is None else f"{r['rows_repaired']:,}"
        ranges = "" if not r["buckets"] else f"{r['buckets']:,} ({r['buckets_differing']:,})"
        counted = "" if r["source_rows_read"] is None else f"{r['source_rows_read']:,}"
        print(f"| {label} | {r['wall']:.2f} | {r['seconds']:.2f} | {counted} / {r['pg_tuples_read']:,} | {repaired}"
              f" | {ranges} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
