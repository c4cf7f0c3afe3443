"""What the column schemas, code references, owners and lineage cost: prints figures, asserts nothing.

* the code location's load time (a fresh interpreter importing analytics_assets.definitions),
  median of --runs, and how much of it is the catalog: parsing every table's column list and
  `catalog.describe` (owners, tags, Python code references, lineage) over every asset;
* the schema recorded at each materialization: one `system.columns` query for a mart's table
  on the embedded engine, median of 50.

    .venv/bin/python bench/bench_catalog.py --runs 5

Measured (2 shared cores, the test suite running beside it): load 2.15 s (median of 3), of which
parsing 33 column lists 19.9 ms and describe over 39 assets (18 with lineage) 60.0 ms; the schema
as built 3.61 ms per materialization.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_seconds(runs: int) -> float:
    code = "import analytics_assets.definitions"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print(f"code location load (fresh interpreter, median of {args.runs}): {load_seconds(args.runs):.2f} s")

    from analytics_assets import catalog, definitions
    from analytics_assets.warehouse import columns
    from analytics_assets.warehouse.sql import load_sql

    sql_files = sorted(p for p in Path(columns.__file__).parents[1].rglob("*.sql")
                       if not p.name.endswith(".columns.sql"))
    declared = []
    for path in sql_files:
        try:
            columns.sql_columns(path)
            declared.append(path)
        except ValueError:
            pass
    columns.sql_columns.cache_clear()
    load_sql.cache_clear()
    started = time.perf_counter()
    for path in declared:
        columns.sql_columns(path)
    parse_ms = (time.perf_counter() - started) * 1000
    print(f"parse the column lists of {len(declared)} .sql files (cold, files read): {parse_ms:.1f} ms")

    assets = [*definitions.core_assets, *definitions.datamart_assets, *definitions.report_assets]
    times = []
    for _ in range(5):
        started = time.perf_counter()
        described = catalog.describe(assets)
        times.append(time.perf_counter() - started)
    lineage = sum(1 for a in described for s in a.specs if "dagster/column_lineage" in s.metadata)
    print(f"catalog.describe over {sum(len(a.specs) for a in assets)} assets ({lineage} with column lineage),"
          f" median of 5: {statistics.median(times) * 1000:.1f} ms")

    from analytics_assets.resources import ClickHouseResource
    from analytics_assets.sales import marts
    from analytics_assets.warehouse.sql import render_sql

    with tempfile.TemporaryDirectory() as tmp:
        resource = ClickHouseResource(dsn=f"chdb://{tmp}/ch", database="analytics")
        with resource.get_client() as wh:
            wh.command(render_sql(load_sql(Path(marts.__file__).with_name("dashboard_daily_metrics.sql"))
                                  .split("AS\nSELECT")[0], target="dashboard_daily_metrics"))
            times = []
            for _ in range(50):
                started = time.perf_counter()
                columns.built_schema(wh, "dashboard_daily_metrics")
                times.append(time.perf_counter() - started)
    print(f"schema as built (system.columns, 24 columns, chDB), median of 50: {statistics.median(times) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
