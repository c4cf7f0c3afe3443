"""The bi domain: the BI feeds over the shipped marts and every datamart the code location loads,
shipped or user-defined, and bi_job."""

import dagster as dg

from analytics_assets.bi.assets import build_bi_assets
from analytics_assets.bi.jobs import bi_job
from analytics_assets.datamarts.definitions import datamart_specs
from analytics_assets.warehouse import registry

defs = registry.claim("bi", dg.Definitions(
    assets=build_bi_assets([spec.name for spec in datamart_specs]),
    jobs=[bi_job],
))
