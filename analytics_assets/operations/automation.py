"""Declarative automation, running by default: the assets with an automation condition (datamarts
with `refresh_strategy: on_upstream_change`, each datamart's workbook) refresh when their sources
do. Dagster creates this sensor stopped when a code location does not define it; nothing would
ever refresh them then."""

import dagster as dg

automation_sensor = dg.AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Refreshes the assets with an automation condition (on_upstream_change datamarts and the "
                "datamart workbooks) after their sources change.",
)
