"""The code location loads and exposes the contract's names."""

from __future__ import annotations

import dagster as dg

from analytics_assets.definitions import defs


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)


def test_contract_names():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_customers", "raw_products", "raw_sales"} <= keys
    for job in ("ingest_job", "ingest_reconcile_job", "sales_dashboard_job"):
        assert defs.resolve_job_def(job) is not None
    assert {s.name for s in defs.schedules} >= {"ingest_hourly", "ingest_reconcile_daily", "sales_dashboard_hourly"}
    assert {s.name for s in defs.sensors} >= {"source_changed_sensor", "sales_dashboard_after_ingest"}
    assert {"sales_fact", "dashboard_daily_metrics", "dashboard_category_performance", "dashboard_regional_breakdown",
            "dashboard_yoy_comparison", "dashboard_top_customers", "dashboard_top_products"} <= keys
    assert {"website_metrics", "website_metrics_hourly", "website_metrics_moving_average", "website_metrics_yoy",
            "website_metrics_anomalies", "website_metrics_seasonality"} <= keys
    for job in ("web_analytics_job", "web_analyses_job"):
        assert defs.resolve_job_def(job) is not None
    assert "web_analyses_hourly" in {s.name for s in defs.schedules}
    assert {"web_landing_sensor", "web_analyses_for_loaded_days"} <= {s.name for s in defs.sensors}
    assert {"sales_dashboard_dm", "category_monthly_dm"} <= keys  # the shipped datamart examples
    assert "sales_dashboard_dm_refresh" in {s.name for s in defs.schedules}
    ingest = [k for k in keys if k.startswith("raw_")]
    for key in ingest:
        spec = graph.get(dg.AssetKey(key))
        assert spec.group_name == "ingest"
        assert "clickhouse" in spec.kinds
        assert spec.pools == {"chdb"}  # the tests run on the embedded engine


def test_the_package_itself_is_a_code_location():
    """`dagster ... -m analytics_assets` (the contract's spelling) finds the definitions."""
    import subprocess
    import sys
    from pathlib import Path

    dagster = Path(sys.executable).with_name("dagster")
    out = subprocess.run([str(dagster), "job", "list", "-m", "analytics_assets"], capture_output=True, text=True,
                         check=True).stdout
    for job in ("ingest_job", "sales_dashboard_job", "customer_segmentation_job", "web_analytics_job", "bi_job"):
        assert job in out


def test_the_hourly_refresh_is_one_job_from_the_replicas_to_customer_360():
    """hourly_refresh_job: the hourly path in one run; the whole-table replica checks stay daily."""
    job = defs.resolve_job_def("hourly_refresh_job")
    assets = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert assets == {"raw_customers", "raw_products", "raw_sales", "sales_fact", "dashboard_daily_metrics",
                      "dashboard_daily_breakdown", "dashboard_category_performance", "dashboard_regional_breakdown",
                      "dashboard_yoy_comparison", "dashboard_top_customers", "dashboard_top_products", "customer_360"}
    checks = {f"{c.asset_key.to_user_string()}:{c.name}" for c in job.asset_layer.asset_graph.asset_check_keys}
    assert "raw_sales:source_keys_unique" in checks and "raw_sales:flagged_rows" in checks
    assert "raw_sales:matches_source" not in checks and "raw_sales:orphan_keys" not in checks  # daily
    assert "customer_360:reconciles_with_sales_fact" in checks
    assert "hourly_refresh" in {s.name for s in defs.schedules}
    assert "source_changed_refresh" in {s.name for s in defs.sensors}
