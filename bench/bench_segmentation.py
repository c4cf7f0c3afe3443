"""Customer segmentation benchmark: the seed's implementation against customer_segmentation_job.

Prints figures, asserts nothing. Same data, same run, for each size (customers; ten sales each):
  * the seed's way, in one process: its RFM SQL on PostgreSQL (CURRENT_DATE -> the logical date),
    pandas, pd.qcut, the row-wise apply, JSON round trips through "XCom", KMeans(n_init=10), its
    CLV, `ALTER TABLE ... DELETE` and `insert_df` into ClickHouse;
  * ours: `dagster job execute -j customer_segmentation_job` (after ingest_job and
    sales_dashboard_job built the replicas and sales_fact): the steps' own durations and the wall
    time, process start included.

    .venv/bin/python bench/bench_segmentation.py --customers 200000 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone

from common import WORK, dagster_execute, fresh_database, job_env, start_server

AS_OF = datetime(2026, 6, 30, 12, tzinfo=timezone.utc)
JOB = "customer_segmentation_job"

SEED_WAY = r'''
import io, json, resource, sys, time
import numpy as np, pandas as pd, psycopg, clickhouse_connect
from sklearn.preprocessing import StandardScaler
from sklearn.cluster import KMeans
dsn, ch_path, as_of = sys.argv[1:4]
started = time.perf_counter()
query = """
    SELECT c.customer_id, c.customer_name, c.email, c.signup_date,
        EXTRACT(DAY FROM (%(ref)s::timestamptz - MAX(s.sale_date))) as recency_days,
        COUNT(DISTINCT s.sale_id) as frequency,
        SUM(s.total_amount - s.discount_amount) as monetary_value,
        AVG(s.total_amount - s.discount_amount) as avg_order_value,
        SUM(s.quantity) as total_items_purchased,
        COUNT(DISTINCT p.category) as categories_purchased,
        MAX(s.sale_date) as last_purchase_date, MIN(s.sale_date) as first_purchase_date
    FROM customers c
    LEFT JOIN sales s ON c.customer_id = s.customer_id AND s.status = 'COMPLETED'
        AND s.sale_date >= %(d)s::date - INTERVAL '365 days'
    LEFT JOIN products p ON s.product_id = p.product_id
    GROUP BY c.customer_id, c.customer_name, c.email, c.signup_date
    HAVING COUNT(s.sale_id) > 0
"""
with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn:
    cur = conn.execute(query, {"ref": as_of, "d": as_of[:10]})
    df = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])
sql_seconds = time.perf_counter() - started
for col in ("recency_days", "monetary_value", "avg_order_value"):
    df[col] = df[col].astype(float)
crash = ""
try:
    df['r_score'] = pd.qcut(df['recency_days'], q=5, labels=[5, 4, 3, 2, 1])
except ValueError as exc:  # the seed's bug on tied recencies
    crash = f"pd.qcut on recency raised: {exc}"
    df['r_score'] = pd.qcut(df['recency_days'].rank(method='first'), q=5, labels=[5, 4, 3, 2, 1])
df['f_score'] = pd.qcut(df['frequency'].rank(method='first'), q=5, labels=[1, 2, 3, 4, 5])
df['m_score'] = pd.qcut(df['monetary_value'].rank(method='first'), q=5, labels=[1, 2, 3, 4, 5])
df['rfm_score'] = df['r_score'].astype(int) * 100 + df['f_score'].astype(int) * 10 + df['m_score'].astype(int)
def assign(row):
    r, f, m = int(row['r_score']), int(row['f_score']), int(row['m_score'])
    if r >= 4 and f >= 4 and m >= 4: return 'Champions'
    elif r >= 3 and f >= 3 and m >= 3: return 'Loyal Customers'
    elif r >= 4 and f <= 2: return 'New Customers'
    elif r <= 2 and f >= 3: return 'At Risk'
    elif r <= 2 and f <= 2: return 'Lost Customers'
    elif r >= 3 and m >= 4: return 'Big Spenders'
    elif f >= 4: return 'Frequent Buyers'
    else: return 'Need Attention'
df['rfm_segment'] = df.apply(assign, axis=1)
df = pd.read_json(io.StringIO(df.to_json(orient='records', date_format='iso')), orient='records')
features = ['recency_days', 'frequency', 'monetary_value', 'avg_order_value', 'total_items_purchased', 'categories_purchased']
X = StandardScaler().fit_transform(df[features].fillna(0))
df['behavior_cluster'] = KMeans(n_clusters=5, random_state=42, n_init=10).fit_predict(X)
labels = {}
for cid in range(5):
    cd = df[df['behavior_cluster'] == cid]
    if cd['frequency'].mean() > df['frequency'].quantile(0.75):
        labels[cid] = 'VIP' if cd['monetary_value'].mean() > df['monetary_value'].quantile(0.75) else 'Frequent'
    elif cd['recency_days'].mean() < df['recency_days'].quantile(0.25): labels[cid] = 'Active'
    elif cd['recency_days'].mean() > df['recency_days'].quantile(0.75): labels[cid] = 'Dormant'
    else: labels[cid] = 'Regular'
df['behavior_segment'] = df['behavior_cluster'].map(labels)
df = pd.read_json(io.StringIO(df.to_json(orient='records', date_format='iso')), orient='records')
df['first_purchase_date'] = pd.to_datetime(df['first_purchase_date'])
df['last_purchase_date'] = pd.to_datetime(df['last_purchase_date'])
df['customer_lifespan_days'] = (df['last_purchase_date'] - df['first_purchase_date']).dt.days
df['purchase_frequency_per_year'] = np.where(df['customer_lifespan_days'] > 0,
    (df['frequency'] / df['customer_lifespan_days']) * 365, df['frequency'])
df['predicted_clv_3y'] = (df['avg_order_value'] * df['purchase_frequency_per_year'] * 3).round(2)
try:
    df['clv_segment'] = pd.qcut(df['predicted_clv_3y'], q=4, labels=['Low Value', 'Medium Value', 'High Value', 'Very High Value'])
except ValueError as exc:
    crash += f"; pd.qcut on CLV raised: {exc}"
    df['clv_segment'] = pd.qcut(df['predicted_clv_3y'].rank(method='first'), q=4, labels=['Low Value', 'Medium Value', 'High Value', 'Very High Value'])
df = pd.read_json(io.StringIO(df.to_json(orient='records', date_format='iso')), orient='records')
client = clickhouse_connect.get_client(dsn=f"chdb://{ch_path}")
client.command("CREATE DATABASE IF NOT EXISTS seed")
cols = ", ".join(f"`{c}` {'Float64' if df[c].dtype.kind in 'fiu' else 'String'}" for c in df.columns)
client.command(f"CREATE TABLE IF NOT EXISTS seed.customer_segments ({cols}) ENGINE = ReplacingMergeTree ORDER BY tuple()")
client.command("ALTER TABLE seed.customer_segments DELETE WHERE 1=1")
client.insert_df("seed.customer_segments", df.apply(lambda s: s.astype(str) if s.dtype.kind not in 'fiu' else s.astype(float)))
client.command("CREATE TABLE IF NOT EXISTS seed.customer_segment_summary ENGINE = ReplacingMergeTree ORDER BY tuple() AS "
               "SELECT rfm_segment, count() AS customer_count, avg(monetary_value) AS avg_ltv FROM seed.customer_segments GROUP BY rfm_segment")
client.close()
print(json.dumps({"sql_seconds": sql_seconds, "seconds": time.perf_counter() - started, "customers": len(df),
                  "crash": crash, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def step_seconds(home) -> dict[str, float]:
    """Each step's own duration in the last run of the job (what "Finished execution of step" prints), from
    the instance's event log."""
    from dagster import DagsterEventType, DagsterInstance, RunsFilter

    with DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(filters=RunsFilter(job_name=JOB), limit=1)[0]
        records = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_SUCCESS).records
        return {r.event_log_entry.step_key: r.event_log_entry.dagster_event.step_success_data.duration_ms / 1000
                for r in records}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[200_000])
    args = parser.parse_args()
    server = start_server()
    table = []
    for customers in args.customers:
        dsn = fresh_database(server, f"bench_segments_{customers}", customers=customers, products=500,
                             sales=customers * 10, as_of=AS_OF)
        seed_ch = WORK / f"ch_seed_segments_{customers}"
        shutil.rmtree(seed_ch, ignore_errors=True)
        env = job_env(dsn, WORK / f"ch_segments_{customers}", WORK / f"home_segments_{customers}", AS_OF.isoformat())
        dagster_execute("ingest_job", env)
        dagster_execute("sales_dashboard_job", env)
        out = subprocess.run([sys.executable, "-c", SEED_WAY, dsn, str(seed_ch), AS_OF.isoformat()],
                             check=True, capture_output=True, text=True).stdout
        seed = json.loads(out.strip().splitlines()[-1])
        ours = dagster_execute(JOB, env)
        steps = step_seconds(env["DAGSTER_HOME"])
        print(f"{customers:,} customers ({seed['customers']:,} active): seed's way {seed['seconds']:.2f} s "
              f"(SQL {seed['sql_seconds']:.2f} s, peak {seed['peak_rss_mb']:.0f} MB{', ' + seed['crash'] if seed['crash'] else ''}); "
              f"ours: steps {ours['steps']:.2f} s, dagster job execute {ours['wall']:.2f} s (peak {ours['peak_rss_mb']:.0f} MB)",
              flush=True)
        slowest_first = sorted(steps.items(), key=lambda kv: -kv[1])
        print("  steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in slowest_first)
              + f" (sum {sum(steps.values()):.2f} s)", flush=True)
        table.append((customers, seed, ours))
    print()
    print("| customers | seed's way s (its SQL s) | ours: steps s | seed / ours | ours: `dagster job execute` s | peak RSS MB seed / ours |")
    print("|---:|---:|---:|---:|---:|---:|")
    for customers, seed, ours in table:
        print(f"| {customers:,} | {seed['seconds']:.2f} ({seed['sql_seconds']:.2f}) | {ours['steps']:.2f} |"
              f" {seed['seconds'] / ours['steps']:.1f}x | {ours['wall']:.2f} | {seed['peak_rss_mb']:.0f} / {ours['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
