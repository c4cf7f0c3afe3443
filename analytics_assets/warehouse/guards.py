"""What a table built from others checks first, with `require_complete`:

* each source table exists: otherwise it stops before any work with one line naming the table and
  the job(s) that build it, in order (`sales_fact does not exist yet: run ingest_job, then
  sales_dashboard_job, first`), instead of ClickHouse's `Unknown table expression identifier`;
* no source is part-applied: tables a refresh updates in place (not swapped) are named in
  GUARDED with the module that checks them; while one is part-applied its readers refuse to
  build, naming it, and keep their previous version until the source's next refresh completes it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

import dagster as dg

from analytics_assets.warehouse import registry


class PartlyApplied(RuntimeError):
    """A source table's last refresh stopped part-way."""


class MissingTable(dg.Failure, LookupError):
    """A source table was never built: the message says which job builds it."""

    def __init__(self, message: str):
        dg.Failure.__init__(self, description=message, allow_retries=False)
        LookupError.__init__(self, message)

    def __str__(self) -> str:
        return self.description


# The tables refreshed in place, each with the module whose `check_complete(wh)` raises
# PartlyApplied while it is part-applied: imported when a reader first asks, so a reader never
# depends on that module having been imported before it.
GUARDED = {"sales_fact": "analytics_assets.sales.fact"}


def require_complete(wh, tables: Iterable[str]) -> None:
    tables = list(tables)
    for table in tables:
        if not wh.table_exists(table):
            raise MissingTable(missing_table_message(wh, table))
    for table in tables:
        if table in GUARDED:
            importlib.import_module(GUARDED[table]).check_complete(wh)


def missing_table_message(wh, table: str, repository: dg.RepositoryDefinition | None = None) -> str:
    """`repository`: the code location's by default (registry.code_location)."""
    repository = repository or registry.code_location()
    if repository is None or not repository.asset_graph.has(dg.AssetKey(table)):
        return f"{table} does not exist in ClickHouse database {wh.database!r}, and no asset here builds it"
    return f"{table} does not exist yet: run {', then '.join(jobs_that_build(wh, table, repository))} first"


def jobs_that_build(wh, table: str, repo: dg.RepositoryDefinition) -> list[str]:
    """The jobs to run, in order, for `table` to exist: `repo`'s job that materializes it, after
    those that build its job's missing sources (e.g. ingest_job, then sales_dashboard_job)."""
    graph = repo.asset_graph
    jobs = [job for job in repo.get_all_jobs() if not job.name.startswith("__")]
    order: list[str] = []

    def visit(name: str, seen: set[str]) -> None:
        key = dg.AssetKey(name)
        builders = [j for j in jobs if key in j.asset_layer.executable_asset_keys]
        if not builders:  # a datamart without a job of its own
            order.append(f"dagster asset materialize -m analytics_assets --select {name}")
            return
        job = min(builders, key=lambda j: len(j.asset_layer.executable_asset_keys))
        if job.name in order:
            return
        built = job.asset_layer.executable_asset_keys
        for upstream in sorted({p for k in built for p in graph.get(k).parent_keys} - set(built)):
            source = upstream.to_user_string()
            if source not in seen and "clickhouse" in graph.get(upstream).kinds and not wh.table_exists(source):
                visit(source, seen | {source})
        if job.name not in order:
            order.append(job.name)

    visit(table, {table})
    return order
