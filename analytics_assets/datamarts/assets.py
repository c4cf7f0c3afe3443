"""Each datamart spec becomes an asset (named after the datamart, depending on the tables its
query reads) and, when `refresh_strategy` is `scheduled`, a schedule named after it.

Specs come from the package's examples and `$ANALYTICS_DATAMARTS_DIR`, read when the code
location loads (a definitions reload picks up new files). A spec that does not validate is left
out with a warning naming the file, rather than taking every other asset down with it;
`analytics-assets datamart validate` says what is wrong.
"""

import logging
import time
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from analytics_assets import settings
from analytics_assets.datamarts import build as build_module
from analytics_assets.datamarts.build import gates, refresh
from analytics_assets.datamarts.schedules import build_datamart_schedule
from analytics_assets.datamarts.spec import DatamartSpec, SpecError, load_specs
from analytics_assets.logical_time import resolve_as_of
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.warehouse.columns import built_schema, code_references
from analytics_assets.warehouse.sql_table_asset import gate_check_specs, gated
from analytics_assets.warehouse.tables import markdown_preview

DATAMARTS_GROUP = "datamarts"
EXAMPLES = Path(__file__).with_name("specs")
log = logging.getLogger(__name__)


def spec_folders() -> list[Path]:
    return [EXAMPLES, settings.datamarts_dir()]


def query_parameters(as_of) -> dict:
    """A query may use the run's logical time as `{as_of:DateTime64(6, 'UTC')}` or `{as_of_date:Date32}`."""
    return {"as_of": as_of, "as_of_date": as_of.date()}


def build_datamart_asset(spec: DatamartSpec, known: set[str]) -> dg.AssetsDefinition:
    deps = [dg.AssetKey(table) for table in spec.tables]
    automation = dg.AutomationCondition.eager() if spec.refresh_strategy == "on_upstream_change" else None
    external = sorted(t for t in spec.tables if t not in known)

    @dg.asset(
        name=spec.name,
        group_name=DATAMARTS_GROUP,
        deps=deps,
        kinds={"clickhouse", "view" if spec.type == "view" else "table"},
        owners=list(spec.owners) or None,
        pool=clickhouse_pool(),
        automation_condition=automation,
        description=(spec.description or f"Datamart {spec.name}") + f" ({spec.type}; spec: {Path(spec.source).name})",
        check_specs=gate_check_specs(spec.name, gates(spec)),
        metadata={"spec": dg.MetadataValue.path(spec.source), "query": dg.MetadataValue.md(f"```sql\n{spec.query}\n```"),
                  "refresh": spec.refresh_schedule or spec.refresh_strategy,
                  # the columns are the query's, typed by ClickHouse: the schema comes with each materialization
                  "dagster/code_references": code_references(spec.source, build_module.__file__),
                  **({"reads_tables_outside_the_graph": ", ".join(external)} if external else {})},
    )
    def datamart(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        started = time.monotonic()
        as_of = resolve_as_of(context)
        params = query_parameters(as_of)
        results: list[dg.AssetCheckResult] = []
        with clickhouse.get_client() as wh:
            yield from gated(spec.name, results, lambda: refresh(wh, spec, params, results))
            rows = wh.row_count(spec.name)
            preview = markdown_preview(wh, spec.name)
            schema = built_schema(wh, spec.name)
        yield dg.MaterializeResult(
            metadata={"dagster/row_count": rows, "dagster/column_schema": schema, "as_of": as_of.isoformat(),
                      "duration_s": round(time.monotonic() - started, 3), "preview": dg.MetadataValue.md(preview)},
            check_results=results,
        )

    return datamart


def excel_asset_name(spec: DatamartSpec) -> str:
    return f"{spec.name}_excel"


def build_excel_asset(spec: DatamartSpec) -> dg.AssetsDefinition:
    """The datamart as a workbook in $ANALYTICS_EXPORTS_DIR, rewritten after each refresh."""

    @dg.asset(
        name=excel_asset_name(spec),
        group_name=DATAMARTS_GROUP,
        deps=[spec.name],
        kinds={"excel"},
        owners=list(spec.owners) or None,
        pool=clickhouse_pool(),
        automation_condition=dg.AutomationCondition.eager(),
        description=f"{spec.name} as an Excel workbook: data{', summary' if spec.excel.include_summary else ''}"
                    f"{', charts' if spec.excel.include_charts else ''} ({settings.EXPORTS_DIR}/{spec.name}.xlsx).",
    )
    def excel(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        from analytics_assets.exports.excel import export_table

        path = settings.exports_dir() / f"{spec.name}.xlsx"
        with clickhouse.get_client() as wh:
            result = export_table(wh, spec.name, path, title=spec.name, description=spec.description,
                                  refreshed_at=resolve_as_of(context), include_charts=spec.excel.include_charts,
                                  include_summary=spec.excel.include_summary)
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(result.path)), "rows": result.rows, "sheets": ", ".join(result.sheets),
            "charts": result.charts, "duration_s": round(result.seconds, 3)})

    return excel


class DatamartDefinitions(NamedTuple):
    assets: list[dg.AssetsDefinition]
    schedules: list[dg.ScheduleDefinition]
    errors: list[SpecError]
    specs: list[DatamartSpec]  # the valid ones, each with its asset


def datamart_definitions(reserved: set[str]) -> DatamartDefinitions:
    """Assets and schedules for every valid spec; `reserved` are names the datamarts may not take
    (every other asset and table of ours)."""
    specs, errors = load_specs(spec_folders())
    assets, schedules, kept = [], [], []
    for spec in specs:
        if spec.name in reserved:
            errors.append(SpecError(spec.source, [("name", f"{spec.name!r} is already a table of ours")]))
            continue
        kept.append(spec)
        assets.append(build_datamart_asset(spec, reserved | {s.name for s in specs}))
        if spec.excel:
            assets.append(build_excel_asset(spec))
        if spec.refresh_strategy == "scheduled":
            refreshed = [spec.name, *([excel_asset_name(spec)] if spec.excel else [])]
            schedules.append(build_datamart_schedule(spec, refreshed))
    for error in errors:
        log.warning("datamart spec left out: %s", error)
    return DatamartDefinitions(assets, schedules, errors, kept)
