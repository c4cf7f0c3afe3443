"""Report build times: prints figures, asserts nothing but that each report has rows.

N synthetic completed sales over 400 days (100k customers, segments and regions by customer) are
generated straight into `sales_fact` on a fresh embedded ClickHouse; then each report type is
built for October 2026 (the file written, no mail): sales_summary and customer_segments over the
sales (customer_segments computes three RFM snapshots), and web_traffic over a year of hourly
points for 20 metrics loaded through the landing pipeline and analysed for the month.

    .venv/bin/python bench/bench_reports.py --sales 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    for n in args.sales:
        with tempfile.TemporaryDirectory() as work:
            os.environ["ANALYTICS_DATA_DIR"] = f"{work}/data"
            os.environ["ANALYTICS_WEB_TTL_DAYS"] = "0"
            run(n, Path(work))


def run(n: int, work: Path) -> None:
    import dagster as dg

    from analytics_assets.reports.assets import build_report_file
    from analytics_assets.reports.spec import parse_report
    from analytics_assets.resources import ClickHouseResource
    from analytics_assets.sales import fact
    from analytics_assets.warehouse.sql import run_script, sql_file
    from analytics_assets.web.analyses import analysis_assets
    from analytics_assets.web.assets import website_metrics

    clickhouse = ClickHouseResource(dsn=f"chdb://{work / 'clickhouse'}")
    with clickhouse.get_client() as wh:
        run_script(wh, sql_file(fact.__file__, "sales_fact_table"), target="sales_fact")
        started = time.monotonic()
        wh.command(
            "INSERT INTO sales_fact (sale_id, sale_day, sale_date, customer_id, customer_segment, region, category, "
            "quantity, net_amount, status, customer_found, product_found, updated_at, customer_name, product_name, "
            "product_id) SELECT number, toDate32('2025-09-01') + intDiv(number * 400, {n:UInt64}), "
            "toDateTime64(toDate32('2025-09-01') + intDiv(number * 400, {n:UInt64}), 6, 'UTC') + (number % 86400), "
            "cityHash64(number) % 100000, ['Enterprise', 'SMB', 'Consumer'][1 + (cityHash64(number) % 100000) % 3], "
            "['North America', 'Europe', 'Asia Pacific'][1 + (cityHash64(number) % 100000) % 7 % 3], "
            "['Electronics', 'Apparel', 'Home'][1 + number % 3], 1 + number % 4, "
            "toDecimal64(5 + (cityHash64(number, 1) % 50000) / 100, 2), if(number % 20 = 0, 'CANCELLED', 'COMPLETED'), "
            "1, 1, now64(6, 'UTC'), concat('Customer ', toString(cityHash64(number) % 100000)), 'Product', "
            "1 + number % 500 FROM numbers({n:UInt64})", {"n": n})
        generate_s = time.monotonic() - started
    landing = Path(os.environ["ANALYTICS_DATA_DIR"]) / "landing" / "web"
    landing.mkdir(parents=True)
    hour, lines = datetime(2025, 11, 1), []
    while hour < datetime(2026, 11, 1):
        for m in range(20):
            lines.append(json.dumps({"timestamp": f"{hour:%Y-%m-%d %H}:07:00", "metric_name": f"metric_{m}",
                                     "metric_value": 100 + (hour.hour * 7 + m) % 40}))
        hour += timedelta(hours=1)
    (landing / "year.ndjson").write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    dg.materialize([website_metrics], resources={"clickhouse": clickhouse})
    dg.materialize([website_metrics, *analysis_assets], resources={"clickhouse": clickhouse, "smtp": _smtp()},
                   selection=[dg.AssetKey("website_metrics_anomalies")],
                   tags={"dagster/asset_partition_range_start": "2026-10-01",
                         "dagster/asset_partition_range_end": "2026-10-31"})
    web_s = time.monotonic() - started
    print(f"sales: {n:,} generated in {generate_s:.1f} s; web: {len(lines):,} points loaded and a month of "
          f"anomalies analysed in {web_s:.1f} s")
    with clickhouse.get_client() as wh:
        for report_type in ("sales_summary", "customer_segments", "web_traffic"):
            spec = parse_report({"name": f"bench_{report_type}", "report_type": report_type,
                                 "delivery_method": "none"}, source="bench")
            started = time.monotonic()
            path, report = build_report_file(wh, spec, date(2026, 10, 1).isoformat())
            seconds = time.monotonic() - started
            assert all(t.rows for t in report.tables[:1]), report_type
            print(f"  {report_type:<18} October 2026 built in {seconds:5.2f} s "
                  f"({path.stat().st_size / 1024:,.0f} KiB, {sum(len(t.rows) for t in report.tables):,} table rows)")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


def _smtp():
    from analytics_assets.resources.smtp import SmtpResource

    return SmtpResource()


if __name__ == "__main__":
    main()
