"""Every table asset says what it holds (column schema), where it is built (code references),
who owns it, and where its columns come from (lineage): walked over the code location itself,
and the declared columns compared with the tables ClickHouse builds from the same SQL."""

from __future__ import annotations

from datetime import date, datetime, timezone
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import pytest

from analytics_assets.catalog import owners_and_tags, ownership
from analytics_assets.definitions import defs
from analytics_assets.warehouse.columns import SQL_LABEL

GRAPH = defs.resolve_asset_graph()
# Not one table each: bi_views makes a view per mart, bi_readonly_access a role and grants.
NOT_ONE_TABLE = {"bi_views", "bi_readonly_access"}
# A datamart's columns are its user query's, typed by ClickHouse: each materialization records them.
QUERY_TYPED_GROUP = "datamarts"


def spec(key: dg.AssetKey):
    return GRAPH.get(key)


def table_assets() -> list[dg.AssetKey]:
    return sorted((k for k in GRAPH.get_all_asset_keys()
                   if "clickhouse" in spec(k).kinds and k.to_user_string() not in NOT_ONE_TABLE),
                  key=lambda k: k.to_user_string())


def schema(key: dg.AssetKey) -> dg.TableSchema | None:
    return spec(key).metadata.get("dagster/column_schema")


def test_every_table_asset_has_its_columns_code_references_and_owners():
    tables = table_assets()
    assert len(tables) >= 31  # replicas, sales_fact, marts, customers, customer360, web, events, datamarts
    for key in tables:
        name, metadata = key.to_user_string(), spec(key).metadata
        refs = metadata.get("dagster/code_references")
        assert refs is not None, f"{name}: no code reference"
        for ref in refs.code_references:
            assert Path(ref.file_path).is_file(), f"{name}: {ref.file_path} does not exist"
        assert any(ref.file_path.endswith(".py") for ref in refs.code_references), f"{name}: no Python code"
        assert spec(key).owners, f"{name}: no owner"
        if spec(key).group_name == QUERY_TYPED_GROUP:
            assert any(ref.file_path.endswith((".yaml", ".yml")) for ref in refs.code_references), name
            continue
        assert schema(key) is not None and schema(key).columns, f"{name}: no column schema"
        if not name.startswith("raw_"):  # the replicas' columns are the source table spec's (sources.py)
            assert any(ref.label == SQL_LABEL for ref in refs.code_references), f"{name}: no .sql reference"


def test_every_asset_has_owners_and_its_group_tags():
    for key in GRAPH.get_all_asset_keys():
        node = spec(key)
        assert node.owners, key
        assert node.tags.get("domain"), key


def test_mart_columns_are_described():
    for key in table_assets():
        if spec(key).group_name in ("sales", "customer360", "web", "events") and schema(key):
            if key.to_user_string() == "sales_fact":
                continue  # its columns are sales' own, named as in the source
            missing = [c.name for c in schema(key).columns if not c.description]
            assert not missing, f"{key.to_user_string()}: no description for {missing}"


def test_lineage_names_columns_that_exist_on_both_sides():
    with_lineage = 0
    for key in GRAPH.get_all_asset_keys():
        lineage = spec(key).metadata.get("dagster/column_lineage")
        if lineage is None:
            continue
        with_lineage += 1
        own = {c.name for c in schema(key).columns}
        for column, deps in lineage.deps_by_column.items():
            assert column in own, f"{key.to_user_string()}.{column} is not a column of it"
            for dep in deps:
                assert dep.asset_key in spec(key).parent_keys
                assert dep.column_name in {c.name for c in schema(dep.asset_key).columns}, (key, column, dep)
    assert with_lineage >= 10


def deps_of(table: str, column: str) -> set[str]:
    lineage = spec(dg.AssetKey(table)).metadata["dagster/column_lineage"]
    return {f"{d.asset_key.to_user_string()}.{d.column_name}" for d in lineage.deps_by_column.get(column, [])}


def test_the_dashboard_marts_trace_their_columns_to_sales_fact():
    for mart in ("dashboard_daily_metrics", "dashboard_daily_breakdown", "dashboard_category_performance",
                 "dashboard_regional_breakdown", "dashboard_yoy_comparison", "dashboard_top_customers",
                 "dashboard_top_products"):
        assert "dagster/column_lineage" in spec(dg.AssetKey(mart)).metadata, mart
    # dashboard_daily_metrics and the YoY mart read the per-day pre-aggregate (sales_by_day.sql), not
    # sales_fact's columns directly; the marts that read sales_fact's window trace to it.
    assert deps_of("dashboard_daily_breakdown", "net_revenue") == {"sales_fact.net_amount"}
    assert deps_of("dashboard_daily_breakdown", "date") == {"sales_fact.sale_day"}
    assert deps_of("dashboard_daily_breakdown", "orders") == set()  # count(): no column
    assert deps_of("dashboard_category_performance", "units_sold") == {"sales_fact.quantity"}
    assert deps_of("dashboard_top_customers", "lifetime_value") == {"sales_fact.net_amount"}
    assert deps_of("dashboard_top_customers", "customer_name") == {"sales_fact.customer_name"}


def test_the_day_grained_marts_trace_through_the_per_day_pre_aggregate():
    """dashboard_daily_metrics and the YoY mart read `$sales_by_day` (sales_by_day.sql over sales_fact)."""
    assert deps_of("dashboard_daily_metrics", "net_revenue") == {"sales_fact.net_amount"}
    assert deps_of("dashboard_daily_metrics", "enterprise_revenue") == {"sales_fact.customer_segment",
                                                                        "sales_fact.net_amount"}
    assert deps_of("dashboard_daily_metrics", "unique_customers") == {"sales_fact.customer_id"}
    assert deps_of("dashboard_daily_metrics", "total_orders") == set()  # count(): no column
    assert deps_of("dashboard_yoy_comparison", "current_revenue") == {"sales_fact.net_amount"}
    assert deps_of("dashboard_yoy_comparison", "current_orders") == set()


def test_every_column_of_sales_fact_is_described():
    columns = spec(dg.AssetKey("sales_fact")).metadata["dagster/column_schema"].columns
    assert len(columns) > 20 and [c.name for c in columns if not c.description] == []


def test_an_asset_entry_overrides_its_group(tmp_path):
    data = {"groups": {"sales": {"owners": ["team:analytics"], "tags": {"domain": "sales", "layer": "mart"}}},
            "assets": {"sales_fact": {"owners": ["data@example.com"], "tags": {"layer": "fact"}}}}
    assert owners_and_tags("sales_fact", "sales", data) == (["data@example.com"],
                                                            {"domain": "sales", "layer": "fact"})
    assert owners_and_tags("dashboard_top_products", "sales", data) == (
        ["team:analytics"], {"domain": "sales", "layer": "mart"})
    assert spec(dg.AssetKey("sales_fact")).owners == ["team:data-platform"]  # the shipped file's override
    path = tmp_path / "ownership.yaml"
    path.write_text("groups:\n  sales:\n    owner: [team:x]\n")
    with pytest.raises(ValueError, match=r"ownership.yaml: groups.sales: unknown field\(s\) owner"):
        ownership(path)


AS_OF = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def build_every_table(wh) -> None:
    """Every table of the code location, on empty sources, by the SQL that builds it in a run."""
    from analytics_assets.events.assets import funnel_parameters, funnel_sql
    from analytics_assets.events.funnel_spec import load_funnels
    from analytics_assets.events.load import ensure_tables as ensure_event_tables
    from analytics_assets.ingest.sources import SOURCE_TABLES
    from analytics_assets.warehouse.sql import load_sql, render_sql
    from analytics_assets.web.analyses import analysis_parameters
    from analytics_assets.web.load import ensure_tables as ensure_web_tables

    for source in SOURCE_TABLES:
        wh.command(f"CREATE TABLE {source.replica} {source.replica_body()}")
    ensure_web_tables(wh, 0)  # website_metrics and its hourly rollup
    ensure_event_tables(wh, 0)  # product_events
    funnels = {f.table: f for f in load_funnels()[0]}
    scratch, by_day = ExitStack(), None  # the marts' per-day pre-aggregate, made once sales_fact exists
    first, last = date(2026, 2, 27), date(2026, 2, 28)
    # window_start: a windowed table's first day (any day builds the declared columns)
    params = {"as_of": AS_OF, "as_of_date": AS_OF.date(), "window_start": first,
              **analysis_parameters(first, last, AS_OF)}
    for key in GRAPH.toposorted_asset_keys:
        name, node = key.to_user_string(), spec(key)
        refs = node.metadata.get("dagster/code_references")
        sql = [Path(r.file_path) for r in refs.code_references if r.label == SQL_LABEL] if refs else []
        if not sql or wh.table_exists(name):
            continue
        if name in funnels:
            funnel = funnels[name]
            text, run_params = funnel_sql(len(funnel.steps)), funnel_parameters(funnel, first, last, AS_OF)
        else:
            text, run_params = load_sql(sql[0]), params
        # `$target`, and `$<source>` for a source read as optional (customer_360's customer_segments)
        sources = {p.to_user_string(): p.to_user_string() for p in node.parent_keys}
        if "$sales_by_day" in text:
            from analytics_assets.sales.marts import sales_by_day

            by_day = by_day or scratch.enter_context(sales_by_day(wh, params))
            sources.update(by_day)
        if name == "customer_360":  # its full build's sources (customer360/incremental.py)
            wh.command(render_sql(load_sql(sql[0].with_name("customer_360_engagement.sql")),
                                  target="_engagement"), params)
            sources.update(sales="sales_fact", customers="raw_customers", engagement="_engagement")
        wh.command(render_sql(text, target=name, **sources), run_params)
    scratch.close()


def test_the_declared_columns_are_those_clickhouse_builds(clickhouse):
    declared = {k.to_user_string(): schema(k) for k in table_assets() if schema(k) is not None}
    with clickhouse.get_client() as wh:
        build_every_table(wh)
        built = {name: [(c.name, c.type) for c in wh_schema.columns]
                 for name in declared if (wh_schema := _built(wh, name)) is not None}
    assert set(built) == set(declared)  # every table with declared columns was built here
    for name, columns in declared.items():
        assert [(c.name, c.type) for c in columns.columns] == built[name], name


def _built(wh, name: str):
    from analytics_assets.warehouse.columns import built_schema

    return built_schema(wh, name) if wh.table_exists(name) else None
