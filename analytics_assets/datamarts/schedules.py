"""A `scheduled` datamart's refresh schedule (with its workbook, if it has one)."""

import dagster as dg

from analytics_assets.datamarts.spec import DatamartSpec


def build_datamart_schedule(spec: DatamartSpec, assets: list[str]) -> dg.ScheduleDefinition:
    """`<name>_refresh` on the spec's cron: a run of `assets` (the datamart, and its workbook)."""
    return dg.ScheduleDefinition(
        name=f"{spec.name}_refresh",
        cron_schedule=spec.refresh_schedule,
        execution_timezone="UTC",
        target=dg.AssetSelection.assets(*assets),
        description=f"Refreshes datamart {spec.name} ({spec.refresh_schedule} UTC).",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
