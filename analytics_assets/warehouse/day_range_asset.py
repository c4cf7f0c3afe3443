"""A table of daily partitions rebuilt for the run's range of days (one partition, or a whole
backfill in a single run): the days are built aside, gated, and swapped in day by day
(`build_days`), so a reader sees each day before or after, and other days are untouched. The web
analyses and the funnels are such tables."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg

from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.warehouse.columns import built_schema
from analytics_assets.warehouse.sql_table_asset import SINGLE_RUN_BACKFILL, Gate, build_days, gate_check_specs, gated


@dataclass(frozen=True)
class DayRangeTable:
    name: str
    group: str
    deps: tuple[str, ...]
    partitions_def: dg.PartitionsDefinition
    description: str
    gates: tuple[Gate, ...]
    metadata: Mapping[str, Any]
    sql: Callable[[], str]  # a CREATE ... AS SELECT into `$target`, PARTITION BY date
    # The SQL's parameters for the days [first_day, last_day] as of the run's logical time;
    # "until" is the end of the data read (the metadata's data_until).
    parameters: Callable[[date, date, datetime], dict]
    as_of: Callable[[dg.AssetExecutionContext], datetime] = resolve_as_of
    # What the built days add to the materialization: (wh, first_day, last_day, params, context).
    summary: Callable[[Any, date, date, dict, dg.AssetExecutionContext], dict] = lambda *_: {}
    prepare: Callable[[Any], None] | None = None  # before the build: the sources' tables exist
    resources: frozenset[str] = frozenset()  # beyond clickhouse (the summary's)


def build_day_range_asset(table: DayRangeTable) -> dg.AssetsDefinition:
    @dg.asset(
        name=table.name,
        group_name=table.group,
        deps=list(table.deps),
        kinds={"clickhouse"},
        partitions_def=table.partitions_def,
        backfill_policy=SINGLE_RUN_BACKFILL,
        pool=clickhouse_pool(),
        description=table.description,
        check_specs=gate_check_specs(table.name, table.gates),
        metadata=dict(table.metadata),
        required_resource_keys={"clickhouse", *table.resources},
    )
    def day_range_asset(context: dg.AssetExecutionContext):
        window = context.partition_time_window
        first_day, last_day = window.start.date(), (window.end - timedelta(days=1)).date()
        params = table.parameters(first_day, last_day, table.as_of(context))
        results: list[dg.AssetCheckResult] = []
        with context.resources.clickhouse.get_client() as wh:
            if table.prepare is not None:
                table.prepare(wh)
            yield from gated(table.name, results,
                             lambda: build_days(wh, table.name, table.sql(), table.gates, params, results))
            summary = table.summary(wh, first_day, last_day, params, context)
            schema = built_schema(wh, table.name)
        yield dg.MaterializeResult(
            metadata={
                "days": f"{first_day.isoformat()} .. {last_day.isoformat()}",
                "as_of": params["as_of"].isoformat(),
                "data_until": params["until"].isoformat(),
                **summary,
                "dagster/column_schema": schema,
            },
            check_results=results,
        )

    return day_range_asset
