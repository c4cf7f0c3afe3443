"""A small code location for the alert tests: a table with a warn-level check whose outcome the
run's config decides, and a table that must be refreshed every hour."""

from datetime import timedelta

import dagster as dg


class Outcome(dg.Config):
    passed: bool = True


@dg.asset(check_specs=[dg.AssetCheckSpec("orphan_keys", asset="orders_table")])
def orders_table(config: Outcome):
    yield dg.MaterializeResult(check_results=[dg.AssetCheckResult(
        check_name="orphan_keys", passed=config.passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"orphans": 0 if config.passed else 3, "sample_ids": "[7, 8, 9]"},
        description="sales whose customer is missing")])


@dg.asset(freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=1)))
def hourly_table():
    return dg.MaterializeResult(metadata={"rows": 1})


defs = dg.Definitions(assets=[orders_table, hourly_table])
