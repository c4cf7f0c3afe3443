"""The reports domain: two assets per report definition (the file and its delivery), its schedule,
and the sensor that retries deliveries that were due. Reports write files, not tables: they claim
no table name."""

import dagster as dg

from analytics_assets.reports.assets import build_delivery_sensor, report_definitions

report_specs, report_assets, report_schedules, _ = report_definitions()

defs = dg.Definitions(
    assets=report_assets,
    schedules=report_schedules,
    sensors=[build_delivery_sensor(report_specs)],
)
