"""A table built by one `.sql` file, as a Dagster asset: built aside, gated, swapped in.

A gate is a query over the freshly built staging table that returns one row
`(failures, detail)`; any failure stops the swap, records the failed check, and keeps the
previous version for readers. The SQL gets the run's logical time as `{as_of:DateTime64(6, 'UTC')}`
and `{as_of_date:Date32}`; a table that reads a window of days gets its first day as
`{window_start:Date32}`, the same day its gates read and its materialization reports.
"""

import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.warehouse.columns import built_schema, table_metadata
from analytics_assets.warehouse.sql import load_sql, render_sql
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.tables import markdown_preview, replace_partitions, replace_table, scratch_tables


@dataclass(frozen=True)
class Gate:
    name: str
    description: str
    sql: str


def unique_key(*columns: str) -> Gate:
    cols = ", ".join(columns)
    return Gate(
        "unique_key",
        f"No two rows share ({cols}).",
        f"SELECT count() - (SELECT count() FROM (SELECT DISTINCT {cols} FROM $target)), '' FROM $target",
    )


@dataclass(frozen=True)
class OptionalSource:
    """A source the table can be built without: while `table` does not exist (its job never ran),
    the SQL's `$<table>` reads an empty stand-in with `columns`, and the metadata says so."""

    table: str
    columns: str  # "(name Type, ...)": those the SQL reads
    built_by: str  # the job that builds it


@dataclass(frozen=True)
class SqlTable:
    name: str
    description: str
    sql_dir: Path  # holds `<name>.sql`
    group: str
    deps: tuple[str, ...]
    gates: tuple[Gate, ...] = ()
    # The table reads the `window_days` days before the logical date (and the logical day up to the
    # logical time): the SQL and the gates bind the first day as {window_start:Date32}, the
    # materialization's `window` shows it. One number: the SQL holds no day count of its own.
    window_days: int | None = None
    # A window that is not a number of days (the year to date): its first day from the logical date.
    window_start: Callable[[date], date] | None = None
    parameters: Callable[[datetime], Mapping[str, Any]] = field(default=lambda as_of: {})
    stale_after: timedelta | None = None  # freshness: the UI flags the table when older than this
    prepare: Callable[[Any], None] | None = None  # run before the build, e.g. create a source table if missing
    optional: tuple[OptionalSource, ...] = ()  # sources read as `$<table>`; an empty stand-in while missing

    def __post_init__(self) -> None:
        if self.window_days is not None and self.window_start is not None:
            raise ValueError(f"{self.name}: a window is window_days or window_start, not both")
        if self.window_days is not None and self.window_days < 0:
            raise ValueError(f"{self.name}: window_days must be 0 or more, not {self.window_days}")

    def first_day(self, as_of_date: date) -> date | None:
        """The window's first day for the logical date (None: the table has no window)."""
        if self.window_days is not None:
            return as_of_date - timedelta(days=self.window_days)
        return self.window_start(as_of_date) if self.window_start is not None else None

    def query_parameters(self, as_of: datetime) -> dict[str, Any]:
        """What the SQL and the gates bind: the logical time, its date, the window's first day
        (`window_start`, a windowed table only) and the table's own `parameters`."""
        first_day = self.first_day(as_of.date())
        window = {} if first_day is None else {"window_start": first_day}
        return {"as_of": as_of, "as_of_date": as_of.date(), **window, **self.parameters(as_of)}


class GateFailed(Exception):
    pass


def gate_check_specs(asset: str, gates: tuple[Gate, ...]) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(g.name, asset=asset, blocking=True, description=g.description) for g in gates]


def run_gates(wh, gates: tuple[Gate, ...], staging: str, params: Mapping[str, Any],
              results: list[dg.AssetCheckResult], sources: Mapping[str, str] | None = None) -> None:
    """Run each gate over `staging`, record its result, raise GateFailed if any failed. `sources`
    names the scratch tables a gate may read as `$<name>` (e.g. a run's pre-aggregate)."""
    for gate in gates:
        (failures, detail), = wh.rows(render_sql(gate.sql, **(sources or {}), target=staging), params)
        results.append(dg.AssetCheckResult(
            check_name=gate.name, passed=failures == 0,
            metadata={"failures": int(failures), "detail": detail, "as_of": params["as_of"].isoformat()},
        ))
    if any(not r.passed for r in results):
        raise GateFailed()


# A backfill of many days runs as one run (build_days swaps each day in). The API is marked beta;
# the filter is set here, where every module that asks for it imports this from.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)
SINGLE_RUN_BACKFILL = dg.BackfillPolicy.single_run()


def build_days(wh, table: str, sql: str, gates: tuple[Gate, ...], params: Mapping[str, Any],
               results: list[dg.AssetCheckResult]) -> None:
    """Rebuild the days [params["first_day"], params["last_day"]] of `table` (PARTITION BY date)
    from `sql` (a CREATE ... AS SELECT into `$target`): built aside, gated (raises GateFailed,
    keeping the old days), then swapped in day by day; other days are not touched."""
    def build(staging: str) -> None:
        wh.command(render_sql(sql, target=staging), params)

    def check(staging: str) -> None:
        run_gates(wh, gates, staging, params, results)

    days = (params["last_day"] - params["first_day"]).days + 1
    partition_ids = [(params["first_day"] + timedelta(days=i)).strftime("%Y%m%d") for i in range(days)]
    replace_partitions(wh, table, build, partition_ids, check)


def gated(table: str, results: list[dg.AssetCheckResult], build: Callable[[], None]):
    """Run `build` (which runs the gates into `results`); if a gate refused the new version,
    yield the check results, then fail the step naming the failed gates."""
    try:
        build()
    except GateFailed:
        yield from results
        failed = [r.check_name for r in results if not r.passed]
        raise dg.Failure(f"{table}: gate(s) {', '.join(failed)} failed; the previous version is kept",
                         allow_retries=False) from None


@contextmanager
def optional_sources(wh, optional: tuple[OptionalSource, ...], log) -> Iterator[tuple[dict[str, str], list[str]]]:
    """({source: the table to read as `$<source>`}, notes): each optional source itself, or while it
    does not exist an empty stand-in with its columns (dropped afterwards), with a note, logged."""
    # Most tables have no optional source: no scratch tables (and no sweep of stale ones) for them.
    with (scratch_tables(wh, *(o.table for o in optional)) if optional else nullcontext([])) as standins:
        sources: dict[str, str] = {}
        notes: list[str] = []
        for source, standin in zip(optional, standins):
            sources[source.table] = source.table
            if not wh.table_exists(source.table):
                wh.command(f"CREATE TABLE {quote_identifier(standin)} {source.columns} ENGINE = Memory")
                sources[source.table] = standin
                notes.append(f"{source.table} does not exist yet (run {source.built_by}): its columns are "
                             "NULL in this version")
                log.warning(notes[-1])
        yield sources, notes


def build_sql_table_asset(table: SqlTable) -> dg.AssetsDefinition:
    sql_path = table.sql_dir / f"{table.name}.sql"
    caller = sys._getframe(1)  # the module that declares the table: the UI links it beside the SQL

    @dg.asset(
        name=table.name,
        group_name=table.group,
        deps=list(table.deps),
        kinds={"clickhouse"},
        pool=clickhouse_pool(),
        description=f"{table.description} Replaced atomically; gates run on the new version before the swap.",
        check_specs=gate_check_specs(table.name, table.gates),
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=table.stale_after) if table.stale_after else None,
        metadata=table_metadata(sql_path, (caller.f_code.co_filename, caller.f_lineno)),
    )
    def sql_table(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        started = time.monotonic()
        as_of = resolve_as_of(context)
        params = table.query_parameters(as_of)
        results: list[dg.AssetCheckResult] = []

        sources: dict[str, str] = {}
        notes: list[str] = []

        def build(staging: str) -> None:
            wh.command(render_sql(load_sql(table.sql_dir / f"{table.name}.sql"), target=staging, **sources), params)

        def gates(staging: str) -> None:
            run_gates(wh, table.gates, staging, params, results)

        with clickhouse.get_client() as wh:
            if table.prepare is not None:  # may create a source that is optional (no event file yet)
                table.prepare(wh)
            with optional_sources(wh, table.optional, context.log) as (found, missing):
                sources.update(found)
                notes.extend(missing)
                # a missing source names its job; a part-applied one keeps ours
                require_complete(wh, [d for d in table.deps if sources.get(d, d) == d])
                yield from gated(table.name, results, lambda: replace_table(wh, table.name, build, gates))
            metadata = _table_metadata(wh, table, as_of, started)
        if notes:
            metadata["note"] = "; ".join(notes)
        yield dg.MaterializeResult(metadata=metadata, check_results=results)

    return sql_table


def _table_metadata(wh, table: SqlTable, as_of: datetime, started: float) -> dict:
    metadata = {
        "dagster/row_count": wh.row_count(table.name),
        "dagster/column_schema": built_schema(wh, table.name),
        "as_of": as_of.isoformat(),
        "duration_s": round(time.monotonic() - started, 3),
        "preview": dg.MetadataValue.md(markdown_preview(wh, table.name)),
    }
    first_day = table.first_day(as_of.date())
    if first_day is not None:
        metadata["window"] = f"[{first_day.isoformat()}, {as_of.isoformat()})"
    return metadata


def build_sql_tables_asset(name: str, tables: tuple[SqlTable, ...], description: str,
                           scratch: Callable[[Any, Mapping[str, Any]], Any] | None = None) -> dg.AssetsDefinition:
    """Several tables of one domain built in one step, the way dbt builds its models: each is
    still its own asset with its own gates (built aside, gated, swapped in), and any subset can be
    materialized; the step's fixed costs (process-side bookkeeping, the source checks, a shared
    scratch table) are paid once. `scratch(wh, params)` is a context manager yielding
    `{name: table}` for the SQL's and the gates' `$<name>` placeholders. A table whose build or gate
    fails keeps its previous version; the others are still built, then the step fails naming it."""
    caller = sys._getframe(1)  # the module that declares the tables: the UI links it beside the SQL
    specs = [
        dg.AssetSpec(
            t.name, group_name=t.group, deps=list(t.deps), kinds={"clickhouse"}, skippable=True,
            metadata=table_metadata(t.sql_dir / f"{t.name}.sql", (caller.f_code.co_filename, caller.f_lineno)),
            description=f"{t.description} Replaced atomically; gates run on the new version before the swap.",
            freshness_policy=dg.FreshnessPolicy.time_window(fail_window=t.stale_after) if t.stale_after else None,
        )
        for t in tables
    ]

    @dg.multi_asset(
        name=name, specs=specs, can_subset=True, pool=clickhouse_pool(), description=description,
        check_specs=[spec for t in tables for spec in gate_check_specs(t.name, t.gates)],
    )
    def sql_tables(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        as_of = resolve_as_of(context)
        params = {"as_of": as_of, "as_of_date": as_of.date()}
        selected = [t for t in tables if dg.AssetKey(t.name) in context.selected_asset_keys]
        checks = context.selected_asset_check_keys
        failed: list[str] = []
        with clickhouse.get_client() as wh:
            require_complete(wh, dict.fromkeys(d for t in selected for d in t.deps))
            with (scratch(wh, params) if scratch else nullcontext({})) as sources:
                for table in selected:
                    started = time.monotonic()
                    table_params = table.query_parameters(as_of)
                    results: list[dg.AssetCheckResult] = []

                    def build(staging: str, table=table, table_params=table_params) -> None:
                        sql = load_sql(table.sql_dir / f"{table.name}.sql")
                        wh.command(render_sql(sql, **sources, target=staging), table_params)

                    def gates(staging: str, table=table, table_params=table_params, results=results) -> None:
                        run_gates(wh, table.gates, staging, table_params, results, sources)

                    try:
                        replace_table(wh, table.name, build, gates)
                    except GateFailed:
                        gate_names = [r.check_name for r in results if not r.passed]
                        failed.append(f"{table.name}: gate(s) {', '.join(gate_names)} failed; the previous "
                                      "version is kept")
                    except Exception as exc:  # noqa: BLE001 - the others still build; the step fails below
                        context.log.error(f"{table.name}: {exc}")
                        failed.append(f"{table.name}: {str(exc).splitlines()[0]}; the previous version is kept")
                    else:
                        yield dg.MaterializeResult(asset_key=table.name,
                                                   metadata=_table_metadata(wh, table, as_of, started))
                    for result in results:
                        key = dg.AssetCheckKey(dg.AssetKey(table.name), result.check_name)
                        if key in checks:
                            yield dg.AssetCheckResult(asset_key=table.name, check_name=result.check_name,
                                                      passed=result.passed, metadata=result.metadata)
        if failed:
            raise dg.Failure("; ".join(failed), allow_retries=False)

    return sql_tables
