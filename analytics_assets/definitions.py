"""Assembles the code location: every domain's definitions, merged, with the resources and the
executor; nothing else. Each domain (its own `definitions.py`) claims the table names it owns in
warehouse/registry.py as it is defined; events and datamarts define theirs after the domains
their spec files could collide with."""

from __future__ import annotations

import dagster as dg

from analytics_assets import catalog
from analytics_assets.bi import definitions as bi
from analytics_assets.customer360 import definitions as customer360
from analytics_assets.customers import definitions as customers
from analytics_assets.datamarts import definitions as datamarts
from analytics_assets.events import definitions as events
from analytics_assets.ingest import definitions as ingest
from analytics_assets.operations import definitions as operations
from analytics_assets.reports import definitions as reports
from analytics_assets.resources import executor_for_target, resources_from_settings
from analytics_assets.sales import definitions as sales
from analytics_assets.warehouse import registry
from analytics_assets.web import definitions as web


defs = catalog.described(dg.Definitions.merge(
    ingest.defs, sales.defs, customers.defs, customer360.defs, web.defs, events.defs, datamarts.defs, bi.defs,
    reports.defs, operations.defs,
    dg.Definitions(
        resources=resources_from_settings(),
        executor=executor_for_target(),  # in-process for chDB, parallel processes for a server
    ),
))
registry.register_code_location(defs.get_repository_def)  # guards name the jobs that build a missing table
