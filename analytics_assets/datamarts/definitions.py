"""The datamarts domain: an asset per valid spec file (and its workbook), and the schedules of the
`scheduled` ones.

A datamart may not take the name of another table of ours: the domains it reads from are defined
first (each claims its names in warehouse/registry.py; events loads after the others, bi's feed
names are claimed with its assets module), and RESERVED is every name claimed then.
"""

import dagster as dg

from analytics_assets.bi import assets as bi_assets  # noqa: F401  the BI feed names, claimed
from analytics_assets.customer360 import definitions as customer360  # noqa: F401
from analytics_assets.customers import definitions as customers  # noqa: F401
from analytics_assets.datamarts.assets import datamart_definitions
from analytics_assets.events import definitions as events  # noqa: F401
from analytics_assets.ingest import definitions as ingest  # noqa: F401
from analytics_assets.sales import definitions as sales  # noqa: F401
from analytics_assets.warehouse import registry
from analytics_assets.web import definitions as web  # noqa: F401

RESERVED = frozenset(registry.taken(excluding={"datamarts"}))
datamarts = datamart_definitions(set(RESERVED))
datamart_specs = datamarts.specs
defs = registry.claim("datamarts", dg.Definitions(assets=datamarts.assets, schedules=datamarts.schedules))
