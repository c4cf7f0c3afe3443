"""Assembles the code location: every domain's definitions, merged, with the resources and the
executor; nothing else. Each domain (its own `definitions.py`) claims the table names it owns in
warehouse/registry.py as it is defined; events and datamarts define theirs after the domains
their spec files could collide with."""

from __future__ import annotations

import os

import dagster as dg

from analytics_assets import catalog, settings
from analytics_assets.bi import definitions as bi
from analytics_assets.customer360 import definitions as customer360
from analytics_assets.customers import definitions as customers
from analytics_assets.datamarts import definitions as datamarts
from analytics_assets.default_partition import with_default_partition
from analytics_assets.events import definitions as events
from analytics_assets.ingest import definitions as ingest
from analytics_assets.operations import definitions as operations
from analytics_assets.reports import definitions as reports
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets.sales import definitions as sales
from analytics_assets.warehouse import registry
from analytics_assets.web import definitions as web


def _from_env(name: str):
    """An EnvVar when the variable is set (the UI shows the name, never the value), else None."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def _smtp() -> SmtpResource:
    """SMTP from ANALYTICS_SMTP_*: set variables become EnvVars (the UI shows names, not values)."""
    fields = {name: (dg.EnvVar.int(var) if name == "port" else dg.EnvVar(var))
              for name, var in settings.SMTP.items() if os.environ.get(var)}
    return SmtpResource(**fields)


defs = catalog.described(dg.Definitions.merge(
    ingest.defs, sales.defs, customers.defs, customer360.defs, web.defs, events.defs, datamarts.defs, bi.defs,
    reports.defs, operations.defs,
    dg.Definitions(
        resources={
            "postgres": PostgresResource(dsn=_from_env(settings.POSTGRES_DSN)),
            "smtp": _smtp(),
            "clickhouse": ClickHouseResource(
                dsn=_from_env(settings.CLICKHOUSE_DSN), database=_from_env(settings.CLICKHOUSE_DATABASE)
            ),
        },
        # chDB is one process at a time: steps run in the run's own process, one after another.
        # Against a ClickHouse server, steps run in parallel processes.
        # A partitioned job run without a partition runs for the logical day (default_partition.py).
        executor=with_default_partition(dg.in_process_executor
                                        if settings.is_chdb(settings.clickhouse_dsn()) else dg.multiprocess_executor),
    ),
))
registry.register_code_location(defs.get_repository_def)  # guards name the jobs that build a missing table
