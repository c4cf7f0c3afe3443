"""The table names taken, and the guards, answered without the code location (definitions.py):
each case runs in a fresh interpreter, so nothing imported by another test can make it pass."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _fresh(code: str) -> dict:
    """Run `code` in a new interpreter; it prints one JSON line, returned with the modules it loaded."""
    wrapped = textwrap.dedent(code) + textwrap.dedent("""
        import json as _json, sys as _sys
        print(_json.dumps({**RESULT, "definitions_loaded": "analytics_assets.definitions" in _sys.modules}))
    """)
    done = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_datamarts_reserved_names_come_from_the_domains_without_the_code_location():
    found = _fresh("""
        from analytics_assets.datamarts import catalog
        names = catalog.reserved()
        RESULT = {"names": sorted(names)}
    """)
    assert not found["definitions_loaded"]
    names = set(found["names"])
    # assets' keys of every domain, and the internal tables each owns
    assert {"raw_sales", "sales_fact", "customer_segments", "customer_360", "website_metrics",
            "website_metrics_anomalies", "product_events", "funnel_purchase", "bi_views"} <= names
    assert {"sales_fact_state", "sales_fact_daily", "sales_fact_verified", "dashboard_daily_metrics_last_7_days",
            "replica_watermarks", "website_metrics_hourly_state", "website_metrics_hourly_mv",
            "website_metrics_files", "website_metrics_quarantine", "product_events_files",
            "product_events_quarantine", "bi_tableau_extracts"} <= names
    # a datamart may take the name it already has (a spec replaced in place)
    assert not names & {"category_monthly_dm", "sales_dashboard_dm"}


def test_a_guard_applies_though_the_module_that_registers_it_was_never_imported():
    found = _fresh("""
        import sys
        from analytics_assets.warehouse.guards import PartlyApplied, require_complete

        class PartAppliedFact:  # sales_fact exists, and its state holds an `_applying` row
            database = "analytics"
            def table_exists(self, table): return True
            def scalar(self, sql, params=None): return "2026-01-01 10:00:00"

        before = "analytics_assets.sales.fact" in sys.modules
        try:
            require_complete(PartAppliedFact(), ["sales_fact"])
            RESULT = {"raised": None, "fact_imported_before": before}
        except PartlyApplied as exc:
            RESULT = {"raised": str(exc), "fact_imported_before": before}
    """)
    assert not found["fact_imported_before"]
    assert found["raised"] and "stopped part-way" in found["raised"]
    assert not found["definitions_loaded"]


def test_a_missing_table_names_its_jobs_from_the_repository_it_is_given():
    found = _fresh("""
        import dagster as dg
        from analytics_assets.customer360 import definitions as customer360
        from analytics_assets.ingest import definitions as ingest
        from analytics_assets.sales import definitions as sales
        from analytics_assets.warehouse.guards import missing_table_message

        class Empty:
            database = "analytics"
            def table_exists(self, table): return False

        unused = dg.Definitions(resources={key: dg.ResourceDefinition.none_resource() for key in ("clickhouse", "postgres")})
        repository = dg.Definitions.merge(ingest.defs, sales.defs, customer360.defs, unused).get_repository_def()
        RESULT = {"known": missing_table_message(Empty(), "sales_fact", repository),
                  "unknown": missing_table_message(Empty(), "nowhere", repository),
                  "no_repository": missing_table_message(Empty(), "sales_fact")}
    """)
    assert found["known"] == "sales_fact does not exist yet: run ingest_job, then sales_dashboard_job first"
    assert found["unknown"] == ("nowhere does not exist in ClickHouse database 'analytics', "
                                "and no asset here builds it")
    # outside a run and without the code location, no job can be named: says so rather than guess
    assert "no asset here builds it" in found["no_repository"]
    assert not found["definitions_loaded"]
