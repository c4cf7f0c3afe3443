"""Run the customer segmentation assets (and what they stand on) through Dagster."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pytest

from analytics_assets.customers.assets import customer_assets
from analytics_assets.customers.checks import customer_checks
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets_tests.sales.conftest import ALL as SALES_ALL

ALL = [*SALES_ALL, *customer_assets, *customer_checks]


def run_segmentation(pg, clickhouse, as_of: datetime, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(ALL, resources={"postgres": pg, "clickhouse": clickhouse},
                          tags={AS_OF_TAG: as_of.isoformat()}, **kwargs)


@pytest.fixture
def segment():
    return run_segmentation
