"""The operations domain: failure and data-quality alerts, and the automation sensor that refreshes
what has an automation condition."""

import dagster as dg

from analytics_assets.operations.alerts import data_quality_alerts, failure_alerts_due, run_failure_email
from analytics_assets.operations.automation import automation_sensor

defs = dg.Definitions(sensors=[run_failure_email, failure_alerts_due, data_quality_alerts, automation_sensor])
