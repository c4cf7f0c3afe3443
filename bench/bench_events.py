"""Event analytics benchmark: prints figures, asserts only that both sides agree.

For each size: N synthetic product events over 60 days (sessions of views, then add_to_cart,
checkout and purchase with drop-off, some purchases outside the window, users returning over
weeks) are generated straight into `product_events` on a fresh embedded ClickHouse and written to
a Parquet file. Then, each in its own process:
  * ClickHouse: the shipped purchase funnel (`funnel.sql`, windowFunnel, every day in one
    build, as a backfill does) and `product_event_retention` (retention());
  * pandas: the same two computations on the same events (read from the Parquet file, user ids
    as integers, event names categorical: the layout a pandas user would choose), the funnel as
    chains of merge_asof (from each first step, the earliest next step within the window).
Both results are compared row by row.

    .venv/bin/python bench/bench_events.py --events 10000000 50000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys

from common import WORK

DAYS = 60
START = "2026-08-01 00:00:00"
AS_OF = "2026-10-01T00:00:00+00:00"  # the day after the last day

GENERATE = r"""
import json, resource, sys, time
from analytics_assets.events.load import ensure_tables
from analytics_assets.resources import ClickHouseResource
ch, parquet, events, days, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sessions = int(events / 2.55)
with ClickHouseResource(dsn=ch).get_client() as wh:
    ensure_tables(wh, 0)
    started = time.perf_counter()
    wh.command('''
        INSERT INTO product_events (event_time, event_name, user_id, session_id, customer_id, properties, source_file_id)
        SELECT toDateTime64({start:String}, 3, 'UTC') + toIntervalMillisecond(base + ev.2),
               ['view', 'add_to_cart', 'checkout', 'purchase'][ev.1], toString(user), concat('s', toString(s)),
               NULL, map(), 0
        FROM (
            SELECT number AS s,
                   sipHash64(number, 1) % ({days:UInt64} * 86400000) AS base,
                   -- most sessions are from users seen before: about 3 sessions per user over the span
                   sipHash64(number, 2) % intDiv({sessions:UInt64}, 3) AS user,
                   sipHash64(number, 3) % 1000 AS d,
                   multiIf(d < 720, 1, d < 846, 2, d < 902, 3, 4) AS depth,
                   1 + sipHash64(number, 4) % 3 AS views,
                   -- one purchase in ten comes two hours later, outside the hour
                   if(sipHash64(number, 5) % 10 = 0, 7200000, 0) AS late
            FROM numbers({sessions:UInt64})
        )
        ARRAY JOIN arrayConcat(arrayMap(i -> (1, i * 30000), range(views)),
                               arrayMap(i -> (i, views * 30000 + (i - 1) * 120000 + if(i = 4, late, 0)),
                                        range(2, depth + 1))) AS ev
        SETTINGS throw_on_max_partitions_per_insert_block = 0, max_insert_threads = 2''',
               {"start": start, "days": days, "sessions": sessions})
    generated = time.perf_counter() - started
    rows = wh.scalar("SELECT count() FROM product_events")
    wh.command("INSERT INTO FUNCTION file({p:String}, 'Parquet') SELECT toUInt64(toUnixTimestamp64Milli(event_time))"
               " AS t, event_name, toUInt32(user_id) AS user FROM product_events", {"p": parquet})
print(json.dumps({"rows": rows, "generate_seconds": generated}))
"""

CLICKHOUSE = r"""
import json, resource, sys, time
from datetime import date, datetime, timedelta
from analytics_assets.events.assets import build_funnel, funnel_parameters
from analytics_assets.events.funnel_spec import SHIPPED, load_funnel
from analytics_assets.resources import ClickHouseResource
from analytics_assets.warehouse.sql import load_sql, render_sql
from analytics_assets.events import assets as events_assets
ch, first, last, as_of = sys.argv[1:5]
as_of = datetime.fromisoformat(as_of)
spec = load_funnel(SHIPPED / "purchase.yaml")
out = {}
params = funnel_parameters(spec, date.fromisoformat(first), date.fromisoformat(last), as_of)
with ClickHouseResource(dsn=ch).get_client() as wh:
    started = time.perf_counter()  # the query alone, into a scratch table
    wh.command(render_sql(events_assets.funnel_sql(len(spec.steps)), target="funnel_query_bench"), params)
    out["funnel_query_seconds"] = time.perf_counter() - started
    started = time.perf_counter()  # what the asset does: build aside, gates, a partition swap per day
    build_funnel(wh, spec, funnel_parameters(spec, date.fromisoformat(first), date.fromisoformat(last), as_of), [])
    out["funnel_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    wh.command("DROP TABLE IF EXISTS retention_bench")
    wh.command(render_sql(load_sql(events_assets.HERE / "product_event_retention.sql"), target="retention_bench"),
               {"as_of": as_of, "as_of_date": as_of.date()})
    out["retention_seconds"] = time.perf_counter() - started
    out["funnel"] = [[str(d), s, u] for d, s, u in wh.rows("SELECT date, step, users FROM funnel_purchase ORDER BY 1, 2")]
    out["retention"] = [[str(c), w, n, a] for c, w, n, a in wh.rows(
        "SELECT cohort_week, weeks_since_first, cohort_users, active_users FROM retention_bench ORDER BY 1, 2")]
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

PANDAS = r"""
import json, resource, sys, time
from datetime import date, datetime, timedelta, timezone
import numpy as np
import pandas as pd
parquet, as_of = sys.argv[1], datetime.fromisoformat(sys.argv[2])
STEPS, WINDOW, DAY = ("view", "add_to_cart", "checkout", "purchase"), 3_600_000, 86_400_000
started = time.perf_counter()
df = pd.read_parquet(parquet)
df["event_name"] = df.event_name.astype("category")
df["t"] = df.t.astype("int64")
df["user"] = df.user.astype("int64")
read = time.perf_counter() - started

started = time.perf_counter()
starts = df.loc[df.event_name == STEPS[0], ["user", "t"]].rename(columns={"t": "start"})
starts["last"] = starts.start
starts["level"] = 1
for k, step in enumerate(STEPS[1:], 2):
    events = df.loc[df.event_name == step, ["user", "t"]].rename(columns={"t": "next"}).sort_values("next")
    current = starts[starts.level == k - 1].sort_values("last")
    found = pd.merge_asof(current, events, left_on="last", right_on="next", by="user", direction="forward")
    ok = found.next.notna() & (found.next <= found.start + WINDOW)
    advanced = found[ok].assign(level=k, last=lambda f: f.next.astype("int64")).drop(columns="next")
    starts = pd.concat([starts[starts.level != k - 1], found[~ok].drop(columns="next"), advanced])
starts["day"] = starts.start // DAY
best = starts.groupby(["day", "user"])["level"].max()
reached = {k: (best >= k).groupby(level="day").sum() for k in range(1, len(STEPS) + 1)}
funnel = sorted([str(date(1970, 1, 1) + timedelta(days=int(d))), k, int(n)]
                for k, series in reached.items() for d, n in series.items())
funnel_seconds = time.perf_counter() - started

started = time.perf_counter()
day = df.t // DAY
weeks = pd.DataFrame({"user": df.user, "week": day - (day + 3) % 7}).drop_duplicates()  # Monday of the week
weeks["cohort"] = weeks.groupby("user").week.transform("min")
weeks["since"] = (weeks.week - weeks.cohort) // 7
sizes = weeks.groupby("cohort").user.nunique()
active = weeks[weeks.since <= 12].groupby(["cohort", "since"]).size()
this_week = (as_of.date() - date(1970, 1, 1)).days
retention = sorted([str(date(1970, 1, 1) + timedelta(days=int(c))), int(s), int(sizes[c]), int(n)]
                   for (c, s), n in active.items() if c + 7 * s < this_week + (1 if as_of.hour or as_of.minute else 0))
retention_seconds = time.perf_counter() - started
print(json.dumps({"read_seconds": read, "funnel_seconds": funnel_seconds, "retention_seconds": retention_seconds,
                  "funnel": funnel, "retention": retention,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def zero_filled(funnel: list) -> list:
    """pandas yields no row for a step nobody reached on a day; ClickHouse yields a 0."""
    days = sorted({d for d, _, _ in funnel})
    have = {(d, s): n for d, s, n in funnel}
    return [[d, s, have.get((d, s), 0)] for d in days for s in range(1, 5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    print(f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| events | funnel: ClickHouse query s / asset s (61 days swapped) / pandas s | retention: ClickHouse s"
          " / pandas s | pandas read s | peak RSS MB ClickHouse / pandas | same result |")
    print("|---:|---:|---:|---:|---:|---|")
    for events in args.events:
        ch_dir, parquet = WORK / f"ch_events_{events}", WORK / f"events_{events}.parquet"
        shutil.rmtree(ch_dir, ignore_errors=True)
        parquet.unlink(missing_ok=True)
        WORK.mkdir(exist_ok=True)
        generated = child(GENERATE, f"chdb://{ch_dir}", str(parquet), str(events), str(DAYS), START)
        first, last = START[:10], "2026-09-30"
        ours = child(CLICKHOUSE, f"chdb://{ch_dir}", first, last, AS_OF)
        theirs = child(PANDAS, str(parquet), AS_OF)
        same = ours["funnel"] == zero_filled(theirs["funnel"]) and ours["retention"] == theirs["retention"]
        print(f"| {generated['rows']:,} | {ours['funnel_query_seconds']:.2f} / {ours['funnel_seconds']:.2f} / "
              f"{theirs['funnel_seconds']:.2f} ({theirs['funnel_seconds'] / ours['funnel_query_seconds']:.1f}x) "
              f"| {ours['retention_seconds']:.2f} / {theirs['retention_seconds']:.2f} "
              f"({theirs['retention_seconds'] / ours['retention_seconds']:.1f}x) | {theirs['read_seconds']:.2f} "
              f"| {ours['peak_rss_mb']:.0f} / {theirs['peak_rss_mb']:.0f} | {'yes' if same else 'NO'} |", flush=True)
        if not same:
            print("funnel differs:" if ours["funnel"] != zero_filled(theirs["funnel"]) else "retention differs:",
                  json.dumps([r for r in ours["funnel"] if r not in zero_filled(theirs["funnel"])][:5]),
                  json.dumps([r for r in ours["retention"] if r not in theirs["retention"]][:5]), file=sys.stderr)
        shutil.rmtree(ch_dir, ignore_errors=True)
        parquet.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
