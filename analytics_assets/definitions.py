"""Assembles the code location; nothing else."""

from __future__ import annotations

import dagster as dg

from analytics_assets import catalog
from analytics_assets.customers.assets import customer_assets, customer_checks
from analytics_assets.customers.schedules import customer_segmentation_daily_schedule, customer_segmentation_job
from analytics_assets.ingest.assets import replica_assets
from analytics_assets.ingest.checks import replica_checks
from analytics_assets.ingest.replicate import WATERMARKS as REPLICA_WATERMARKS
from analytics_assets.ingest.schedules import (
    ingest_hourly_schedule,
    ingest_job,
    ingest_reconcile_daily_schedule,
    ingest_reconcile_job,
)
from analytics_assets.ingest.sensors import source_changed_sensor
from analytics_assets.resources import executor_for_target, resources_from_settings
from analytics_assets.sales.assets import mart_assets, sales_fact
from analytics_assets.sales.checks import sales_checks
from analytics_assets.sales.schedules import (
    hourly_refresh_job,
    hourly_refresh_schedule,
    sales_dashboard_after_ingest,
    sales_dashboard_hourly_schedule,
    sales_dashboard_job,
    source_changed_refresh,
)
from analytics_assets.bi.assets import BI_ASSET_NAMES, bi_job, build_bi_assets
from analytics_assets.customer360.assets import customer360_assets, customer_360_hourly_schedule, customer_360_job
from analytics_assets.datamarts.assets import datamart_definitions
from analytics_assets.events import load as event_tables
from analytics_assets.events.assets import funnel_assets, product_event_retention, product_events
from analytics_assets.events.schedules import (
    events_hourly_schedule,
    events_job,
    events_landing_sensor,
    funnels_for_loaded_days,
    funnels_job,
)
from analytics_assets.operations.alerts import data_quality_alerts, failure_alerts_due, run_failure_email
from analytics_assets.operations.automation import automation_sensor
from analytics_assets.reports.assets import build_delivery_sensor, report_definitions
from analytics_assets.sales.checks import VERIFIED as SALES_FACT_VERIFIED
from analytics_assets.sales.fact import DAILY as SALES_FACT_DAILY
from analytics_assets.sales.fact import STATE as SALES_FACT_STATE
from analytics_assets.sales.marts import LAST_7_DAYS
from analytics_assets.web import load as web_tables
from analytics_assets.web.analyses import analysis_assets
from analytics_assets.web.assets import website_metrics
from analytics_assets.web.schedules import web_analyses_hourly_schedule, web_analyses_job, web_analytics_job
from analytics_assets.web.sensors import web_analyses_for_loaded_days, web_landing_sensor


core_assets = [*replica_assets, sales_fact, *mart_assets, *customer_assets, *customer360_assets, website_metrics,
               *analysis_assets, product_events, product_event_retention]
# Funnels and datamarts come from spec files; none may take the name of one of our tables.
internal_tables = {SALES_FACT_STATE, SALES_FACT_DAILY, SALES_FACT_VERIFIED, LAST_7_DAYS, REPLICA_WATERMARKS, web_tables.HOURLY_STATE, web_tables.HOURLY_MV, web_tables.FILES,
                   web_tables.QUARANTINE, event_tables.FILES, event_tables.QUARANTINE, *BI_ASSET_NAMES}
core_assets += funnel_assets({key.to_user_string() for a in core_assets for key in a.keys} | internal_tables)
datamart_assets, datamart_schedules, _, datamart_specs = datamart_definitions(
    {key.to_user_string() for a in core_assets for key in a.keys} | internal_tables)
# The BI feeds cover every datamart the code location loads, shipped or user-defined.
core_assets += build_bi_assets([spec.name for spec in datamart_specs])
report_specs, report_assets, report_schedules, _ = report_definitions()


defs = dg.Definitions(
    assets=catalog.describe([*core_assets, *datamart_assets, *report_assets]),  # owners, tags, code, lineage
    asset_checks=[*replica_checks, *sales_checks, *customer_checks],
    jobs=[hourly_refresh_job, ingest_job, ingest_reconcile_job, sales_dashboard_job, customer_segmentation_job, web_analytics_job,
          web_analyses_job, events_job, funnels_job, bi_job, customer_360_job],
    schedules=[
        hourly_refresh_schedule,
        ingest_hourly_schedule,
        ingest_reconcile_daily_schedule,
        sales_dashboard_hourly_schedule,
        customer_segmentation_daily_schedule,
        web_analyses_hourly_schedule,
        customer_360_hourly_schedule,
        events_hourly_schedule,
        *datamart_schedules,
        *report_schedules,
    ],
    sensors=[source_changed_sensor, source_changed_refresh, sales_dashboard_after_ingest, web_landing_sensor,
             web_analyses_for_loaded_days, events_landing_sensor, funnels_for_loaded_days,
             build_delivery_sensor(report_specs), run_failure_email, failure_alerts_due, data_quality_alerts,
             automation_sensor],
    resources=resources_from_settings(),
    executor=executor_for_target(),  # in-process for chDB, parallel processes for a server
)
