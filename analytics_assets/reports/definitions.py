"""The reports domain: two assets per report definition (the file and its delivery), its schedule,
and the sensor that retries deliveries that were due. Reports write files, not tables: they claim
no table name."""

import dagster as dg

from analytics_assets.reports.assets import report_definitions
from analytics_assets.reports.schedules import build_report_schedule
from analytics_assets.reports.sensors import build_delivery_sensor

report_specs, report_assets, _ = report_definitions()

defs = dg.Definitions(
    assets=report_assets,
    schedules=[build_report_schedule(spec) for spec in report_specs],
    sensors=[build_delivery_sensor(report_specs)],
)
