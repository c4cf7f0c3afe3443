"""Run the sales assets through Dagster on a generated source."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pytest

from analytics_assets.ingest.assets import replica_assets
from analytics_assets.ingest.checks import replica_checks
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.sales.assets import mart_assets, sales_fact
from analytics_assets.sales.checks import sales_checks

ALL = [*replica_assets, sales_fact, *mart_assets, *replica_checks, *sales_checks]


def run_pipeline(pg, clickhouse, as_of: datetime, *, selection=None, run_config=None,
                 raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ALL,
        resources={"postgres": pg, "clickhouse": clickhouse},
        selection=selection,
        run_config=run_config,
        tags={AS_OF_TAG: as_of.isoformat()},
        raise_on_error=raise_on_error,
    )


@pytest.fixture
def run():
    return run_pipeline


def materializations(result: dg.ExecuteInProcessResult, asset: str) -> list[dg.AssetMaterialization]:
    """The materializations of one asset (the marts share one step, `dashboard_marts`)."""
    return [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey(asset)]
