"""customer_360's own cost: a full build, then one hour of activity refreshed incrementally.

Prints figures, asserts nothing. For each size: the source database is generated once (kept as a
PostgreSQL template under bench/.work, reused by later runs: `--regenerate` makes it again),
copied, replicated and `sales_fact` built through `dagster job execute` (ingest_job,
sales_dashboard_job); then `customer_360` is built through Dagster in this process (its step
time, from the materialization's `duration_s`) at the generated logical time (a full build),
after one hour of activity (the hourly delta: ingest and sales_fact first, not timed here), and
once more with `full_rebuild` at the same logical time (the cost the delta replaces), comparing
the two tables row for row.

    .venv/bin/python bench/bench_customer360.py --sales 1000000 10000000
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
from datetime import datetime, timezone

import psycopg
from psycopg import sql

from common import WORK, dagster_execute, job_env, start_server

GENERATED_AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)


def source_database(server, sales: int, regenerate: bool) -> str:
    """A fresh copy of the generated source (the template is generated once)."""
    from analytics_assets.demo import generator

    template, name = f"c360_template_{sales}", f"c360_{sales}"
    admin = server.dsn_for("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
        if regenerate or not exists:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(template)))
            generator.generate(server.dsn_for(template), seed=42, customers=max(100, sales // 20), products=500,
                               sales=sales, as_of=GENERATED_AS_OF)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return server.dsn_for(name)


def build_customer_360(env: dict, as_of: datetime, full_rebuild: bool = False) -> dict:
    import dagster as dg

    from analytics_assets.customer360.assets import customer_360
    from analytics_assets.logical_time import AS_OF_TAG
    from analytics_assets.resources import ClickHouseResource

    clickhouse = ClickHouseResource(dsn=env["ANALYTICS_CLICKHOUSE_DSN"])
    config = {"ops": {"customer_360": {"config": {"full_rebuild": True}}}} if full_rebuild else None
    result = dg.materialize([customer_360], resources={"clickhouse": clickhouse}, run_config=config,
                            tags={AS_OF_TAG: as_of.isoformat()})
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("customer_360")[0].metadata.items()}
    return metadata


def snapshot(env: dict) -> list:
    from analytics_assets.resources import ClickHouseResource

    with ClickHouseResource(dsn=env["ANALYTICS_CLICKHOUSE_DSN"]).get_client() as wh:
        return wh.rows("SELECT cityHash64(groupArray(h)) FROM (SELECT cityHash64(*) AS h FROM customer_360"
                       " ORDER BY customer_id)")


def main() -> None:
    from analytics_assets.demo import generator

    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    server = start_server()
    for sales in args.sales:
        print(f"{sales:,} sales:", flush=True)
        dsn = source_database(server, sales, args.regenerate)
        env = job_env(dsn, WORK / f"ch_c360_{sales}", WORK / f"dagster_home_c360_{sales}", GENERATED_AS_OF.isoformat())
        os.environ.update({k: v for k, v in env.items() if k.startswith("ANALYTICS_")})
        for job in ("ingest_job", "sales_dashboard_job"):
            dagster_execute(job, env)
        full = build_customer_360(env, GENERATED_AS_OF)
        print(f"  first build ({full.get('build', 'full')}): {full['duration_s']:.2f} s, "
              f"{full['dagster/row_count']:,} customers", flush=True)
        activity = generator.apply_activity(dsn, seed=1)
        as_of = activity.window_end
        env["ANALYTICS_AS_OF"] = as_of.isoformat()
        for job in ("ingest_job", "sales_dashboard_job"):
            dagster_execute(job, env)
        delta = build_customer_360(env, as_of)
        incremental = snapshot(env)
        print(f"  one hour ({activity.new_sales:,} new sales, {activity.status_changes:,} status changes): "
              f"{delta['duration_s']:.2f} s ({delta.get('build', 'full')}, "
              f"{delta.get('customers_recomputed', '?')} customers recomputed)", flush=True)
        again = build_customer_360(env, as_of, full_rebuild=True)
        same = snapshot(env) == incremental
        print(f"  full rebuild at the same logical time: {again['duration_s']:.2f} s; "
              f"identical to the hourly delta: {same}", flush=True)
        shutil.rmtree(WORK / f"ch_c360_{sales}", ignore_errors=True)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
