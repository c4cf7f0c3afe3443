"""Declarative automation runs by default: an on_upstream_change datamart refreshes after its source."""

import dagster as dg


def test_the_automation_sensor_runs_by_default_and_asks_for_a_datamart_after_its_source_changed():
    from analytics_assets.definitions import defs

    sensor = next(s for s in defs.get_repository_def().sensor_defs if s.name == "default_automation_condition_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    datamart = dg.AssetKey("category_monthly_dm")  # shipped with refresh_strategy: on_upstream_change
    with dg.DagsterInstance.ephemeral() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        instance.report_runless_asset_event(dg.AssetMaterialization("sales_fact"))
        later = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {r.key for r in later.results if r.true_subset.size}
    assert datamart in requested, requested
    assert dg.AssetKey("sales_fact") not in requested  # what has no condition is left to its schedules
