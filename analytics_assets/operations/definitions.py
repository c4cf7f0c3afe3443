"""The operations domain: failure and data-quality alerts, and the automation sensor that refreshes
what has an automation condition."""

import dagster as dg

from analytics_assets.operations.sensors import (
    automation_sensor,
    data_quality_alerts,
    failure_alerts_due,
    run_failure_email,
)

defs = dg.Definitions(sensors=[run_failure_email, failure_alerts_due, data_quality_alerts, automation_sensor])
