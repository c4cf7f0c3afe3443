"""Web metrics benchmark: prints figures, asserts nothing.

For each size: write the metric files once (gzipped NDJSON, one file per day: every minute,
7 metrics x 10 pages x 2 devices), then, each in its own process on a fresh embedded ClickHouse:
  * the limit: ClickHouse reading the same files itself, `INSERT INTO website_metrics SELECT
    ... FROM file(...)` (the same table and materialized view);
  * ours: `load_landing_files`, the web_analytics_job's loading step (registry, line numbers,
    validation, quarantine, publish), then the four analyses for the last day and for every day.

    .venv/bin/python bench/bench_web.py --rows 1000000 10000000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from common import WORK

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
METRICS = ("pageviews", "sessions", "unique_visitors", "signups", "bounce_rate", "avg_session_duration_s",
           "page_load_time_ms")
PAGES = tuple(f"/page/{i}" for i in range(10))
DEVICES = ("desktop", "mobile")
ROWS_PER_MINUTE = len(METRICS) * len(PAGES) * len(DEVICES)

LIMIT = r"""
import json, resource, sys, time
from analytics_assets.resources import ClickHouseResource
from analytics_assets.web.load import ensure_tables
ch, pattern = sys.argv[1:3]
with ClickHouseResource(dsn=ch).get_client() as wh:
    ensure_tables(wh, 0)
    started = time.perf_counter()
    wh.command("INSERT INTO website_metrics SELECT timestamp, metric_name, metric_value, dimensions, tags, 0"
               " FROM file({pattern:String}, 'JSONEachRow', 'timestamp DateTime(\\'UTC\\'), metric_name String,"
               " metric_value Float64, dimensions Map(String, String), tags Array(String)')"
               " SETTINGS throw_on_max_partitions_per_insert_block = 0", {"pattern": pattern})
    seconds = time.perf_counter() - started
    rows = wh.scalar("SELECT count() FROM website_metrics")
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OURS = r"""
import json, resource, sys, time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from analytics_assets.resources import ClickHouseResource
from analytics_assets.web.analyses import ANALYSES, analysis_parameters, build_analysis
from analytics_assets.landing.load import load_landing_files
from analytics_assets.web.load import WEB_FEED, ensure_tables
ch, folder, first, last = sys.argv[1:5]
first, last = date.fromisoformat(first), date.fromisoformat(last)
out = {}
with ClickHouseResource(dsn=ch).get_client() as wh:
    started = time.perf_counter()
    ensure_tables(wh, 0)
    report = load_landing_files(wh, WEB_FEED, Path(folder), run_id="bench", loaded_at=datetime.now(timezone.utc),
                                max_bad_rows_pct=10, future_tolerance=timedelta(minutes=10))
    out["load_seconds"] = time.perf_counter() - started
    out["rows"] = report.rows_loaded
    out["quarantined"] = report.rows_quarantined
    as_of = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    for label, start in (("analyses_day_seconds", last), ("analyses_all_days_seconds", first)):
        started = time.perf_counter()
        for analysis in ANALYSES:
            build_analysis(wh, analysis, analysis_parameters(start, last, as_of), [])
        out[label] = time.perf_counter() - started
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def write_files(folder: Path, rows: int) -> tuple[int, int]:
    """Day files of ~`rows` rows in total (whole minutes); returns (files, bytes). Cached."""
    marker = folder / ".complete"
    if marker.exists():
        files = sorted(folder.glob("*.ndjson.gz"))
        return len(files), sum(f.stat().st_size for f in files)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    minutes = rows // ROWS_PER_MINUTE
    rng = np.random.default_rng(5)
    day_minutes = 24 * 60
    for day_start in range(0, minutes, day_minutes):
        n = min(day_minutes, minutes - day_start)
        day = START + timedelta(minutes=day_start)
        stamps = [(day + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(n)]
        values = np.round(rng.gamma(2.0, 20.0, size=(n, len(METRICS), len(PAGES), len(DEVICES))), 3)
        lines = []
        for i, stamp in enumerate(stamps):
            for m, metric in enumerate(METRICS):
                for p, page in enumerate(PAGES):
                    for d, device in enumerate(DEVICES):
                        lines.append(f'{{"timestamp":"{stamp}","metric_name":"{metric}","metric_value":'
                                     f'{values[i, m, p, d]},"dimensions":{{"page":"{page}","device":"{device}"}},'
                                     f'"tags":["web"]}}\n')
        with gzip.open(folder / f"web-{day:%Y-%m-%d}.ndjson.gz", "wt", compresslevel=1) as f:
            f.writelines(lines)
    marker.write_text("ok\n")
    files = sorted(folder.glob("*.ndjson.gz"))
    return len(files), sum(f.stat().st_size for f in files)


def child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    os.environ.setdefault("ANALYTICS_WEB_TTL_DAYS", "0")
    print(f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| rows | files (MB gz) | limit: file() s (rows/s) | ours: load s (rows/s) | ours / limit"
          " | analyses, last day s | analyses, every day s | peak RSS MB limit / ours |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        folder = WORK / f"web_{rows}" / "landing"
        files, size = write_files(folder, rows)
        days = sorted(p.name[4:14] for p in folder.glob("*.ndjson.gz"))
        limit_dir, ours_dir = WORK / f"ch_web_{rows}_limit", WORK / f"ch_web_{rows}_ours"
        for path in (limit_dir, ours_dir):
            shutil.rmtree(path, ignore_errors=True)
        limit = child(LIMIT, f"chdb://{limit_dir}", str(folder / "*.ndjson.gz"))
        ours = child(OURS, f"chdb://{ours_dir}", str(folder), days[0], days[-1])
        assert limit["rows"] == ours["rows"], (limit, ours)
        print(f"| {ours['rows']:,} | {files} ({size / 2**20:.0f}) "
              f"| {limit['seconds']:.2f} ({limit['rows'] / limit['seconds']:,.0f}) "
              f"| {ours['load_seconds']:.2f} ({ours['rows'] / ours['load_seconds']:,.0f}) "
              f"| {ours['load_seconds'] / limit['seconds']:.2f}x "
              f"| {ours['analyses_day_seconds']:.2f} | {ours['analyses_all_days_seconds']:.2f} ({len(days)} days) "
              f"| {limit['peak_rss_mb']:.0f} / {ours['peak_rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
