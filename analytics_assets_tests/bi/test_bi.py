"""BI feeds on real tables: every Grafana panel's SQL runs, Parquet extracts equal their tables."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import dagster as dg
import pyarrow.parquet as pq
import yaml

import pytest

from analytics_assets.bi.assets import bi_parquet_extracts, bi_views, grafana_provisioning, tableau_available
from analytics_assets.bi.grafana import DASHBOARDS, expand_macros, panel_sql
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.sales.assets import mart_assets


def build_marts(clickhouse):
    dg.materialize(mart_assets, resources={"clickhouse": clickhouse},
                   tags={AS_OF_TAG: "2026-11-02T00:00:00+00:00"})
    from datetime import date

    from analytics_assets.web.analyses import ANALYSES, analysis_parameters, build_analysis
    from analytics_assets.web.load import ensure_tables

    with clickhouse.get_client() as wh:  # the web tables (empty): their panels must run too
        ensure_tables(wh, 0)
        wh.command("INSERT INTO website_metrics VALUES ('2026-10-30 10:00:00', 'pageviews', 5, {}, [], 1)")
        for analysis in ANALYSES:
            build_analysis(wh, analysis, analysis_parameters(date(2026, 10, 30), date(2026, 10, 30),
                                                             datetime(2026, 10, 31, tzinfo=timezone.utc)), [])
    from analytics_assets.events.assets import build_funnel, funnel_parameters, product_event_retention
    from analytics_assets.events.funnel_spec import SHIPPED, load_funnel
    from analytics_assets.events.load import ensure_tables as ensure_event_tables

    with clickhouse.get_client() as wh:  # the shipped funnel and the event retention, over two users
        ensure_event_tables(wh, 0)
        wh.command("INSERT INTO product_events (event_time, event_name, user_id) VALUES"
                   " ('2026-10-30 10:00:00', 'view', 'a'), ('2026-10-30 10:01:00', 'add_to_cart', 'a'),"
                   " ('2026-10-30 11:00:00', 'view', 'b')")
        funnel = load_funnel(SHIPPED / "purchase.yaml")
        build_funnel(wh, funnel, funnel_parameters(funnel, date(2026, 10, 30), date(2026, 10, 30),
                                                   datetime(2026, 10, 31, tzinfo=timezone.utc)), [])
    dg.materialize([product_event_retention], resources={"clickhouse": clickhouse},
                   tags={AS_OF_TAG: "2026-11-02T00:00:00+00:00"})
    from analytics_assets.customers import assets as customers
    from analytics_assets.warehouse.sql import render_sql, sql_file

    with clickhouse.get_client() as wh:  # segments by hand; the summary by its own SQL
        wh.command("CREATE TABLE customer_segments ENGINE = MergeTree ORDER BY tuple() AS SELECT number AS customer_id,"
                   " ['Champions', 'Loyal', 'At Risk'][number % 3 + 1] AS rfm_segment,"
                   " toDecimal64(number * 10, 2) AS monetary_value, number + 1 AS frequency, 10 * number AS"
                   " recency_days, toNullable(toDecimal64(number * 20, 2)) AS model_clv_3y FROM numbers(6)")
        wh.command(render_sql(sql_file(customers.__file__, "customer_segment_summary"),
                              target="customer_segment_summary"), {"as_of": datetime(2026, 11, 2, tzinfo=timezone.utc)})


def test_macros_expand_to_a_concrete_range():
    start, end = datetime(2026, 10, 1, tzinfo=timezone.utc), datetime(2026, 11, 1, tzinfo=timezone.utc)
    a, b = int(start.timestamp()), int(end.timestamp())
    assert (a, b) == (1790812800, 1793491200)
    assert expand_macros("WHERE $__timeFilter(toDateTime(date)) AND x < $__toTime", start, end) == (
        f"WHERE toDateTime(date) >= toDateTime({a}) AND toDateTime(date) <= toDateTime({b}) AND x < toDateTime({b})")


def test_every_panel_runs_and_the_provisioning_points_at_the_tables(sales, tmp_path, monkeypatch):
    build_marts(sales)
    result = dg.materialize([grafana_provisioning], resources={"clickhouse": sales})
    assert result.success
    start, end = datetime(2026, 10, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc)
    with sales.get_client() as wh:
        daily = wh.rows(expand_macros(panel_sql(DASHBOARDS["sales"][1][0]), start, end))
    assert daily and all(len(row) == 3 for row in daily)  # time, net revenue, orders over real rows
    root = tmp_path / "data" / "bi" / "grafana"
    source = yaml.safe_load((root / "provisioning" / "datasources" / "analytics-clickhouse.yaml").read_text())
    (ds,) = source["datasources"]
    assert ds["type"] == "grafana-clickhouse-datasource" and ds["jsonData"]["defaultDatabase"] == "analytics"
    assert ds["secureJsonData"]["password"] == "${ANALYTICS_CLICKHOUSE_PASSWORD}"
    with sales.get_client() as wh:
        steps = wh.rows(expand_macros(panel_sql(DASHBOARDS["events"][1][0]), start, end))
    assert steps == [("view", 2), ("add_to_cart", 1), ("checkout", 0), ("purchase", 0)]
    for key in ("sales", "web", "customers", "events"):
        board = json.loads((root / "dashboards" / f"{key}.json").read_text())
        assert [p["targets"][0]["rawSql"] for p in board["panels"]] == [panel_sql(p) for p in DASHBOARDS[key][1]]
    with sales.get_client() as wh:
        assert wh.rows(expand_macros(panel_sql(DASHBOARDS["web"][1][0]), start, end)) == [
            (datetime(2026, 10, 30, 10), 5.0)]


def test_panels_over_tables_not_built_yet_wait_and_any_other_error_fails(sales, tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    build_marts(sales)
    with sales.get_client() as wh:  # no event file has landed: the funnel and retention tables are not there
        wh.command("DROP TABLE funnel_purchase")
        wh.command("DROP TABLE product_event_retention")
    result = dg.materialize([grafana_provisioning], resources={"clickhouse": sales})
    (materialization,) = result.asset_materializations_for_node("grafana_provisioning")
    waiting = materialization.metadata["panels_waiting_for_tables"].value
    assert [part.split(":")[0] for part in waiting.split("; ")] == [p.title.split(":")[0] for p in DASHBOARDS["events"][1]]
    assert (tmp_path / "data" / "bi" / "grafana" / "dashboards" / "events.json").exists()
    with sales.get_client() as wh:  # a table that is there but not as the panel expects: a real error
        wh.command("CREATE TABLE funnel_purchase (date Date, step UInt8) ENGINE = Memory")
    broken = dg.materialize([grafana_provisioning], resources={"clickhouse": sales}, raise_on_error=False)
    assert not broken.success
    (failure,) = [e for e in broken.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "Purchase funnel: users reaching each step" in failure.step_failure_data.error.message


def test_the_datasource_takes_a_servers_settings_never_its_password(monkeypatch):
    from analytics_assets.bi.grafana import datasource

    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", "https://bi:s3cret@ch.example.com:8443")
    (ds,) = datasource()["datasources"]
    assert (ds["jsonData"]["host"], ds["jsonData"]["port"], ds["jsonData"]["username"], ds["jsonData"]["secure"]) \
        == ("ch.example.com", 8443, "bi", True)
    assert "s3cret" not in json.dumps(ds)


def test_parquet_extracts_equal_their_tables(sales, tmp_path):
    build_marts(sales)
    result = dg.materialize([bi_views, bi_parquet_extracts], resources={"clickhouse": sales},
                            run_config={"ops": {"bi_parquet_extracts": {"config": {"csv": True}}}})
    folder = tmp_path / "data" / "bi" / "parquet"
    with sales.get_client() as wh:
        for table in ("dashboard_daily_metrics", "dashboard_category_performance", "customer_segments"):
            extract = pq.read_table(folder / f"{table}.parquet")
            assert extract.to_pylist() == wh.query_arrow(f"SELECT * FROM {table}").to_pylist()
            assert result.asset_materializations_for_node("bi_parquet_extracts")[0].metadata[
                f"rows_{table}"].value == extract.num_rows
    assert not list(folder.glob(".*.tmp"))
    csv_lines = (tmp_path / "data" / "bi" / "csv" / "customer_segment_summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith('"rfm_segment","customer_count"') and len(csv_lines) == 4


def test_readonly_access_sql_is_valid_clickhouse_and_holds_no_password(clickhouse, tmp_path, monkeypatch):
    from analytics_assets.bi.assets import bi_readonly_access

    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYTICS_BI_PASSWORD", "correct horse")
    monkeypatch.setenv("ANALYTICS_BI_USER", "powerbi")
    result = dg.materialize([bi_readonly_access], resources={"clickhouse": clickhouse})
    text = (tmp_path / "data" / "bi" / "readonly_access.sql").read_text()
    assert "correct horse" not in text and "sha256_hash BY '" in text and "`powerbi`" in text
    assert "GRANT SELECT ON `analytics`.* TO `analytics_bi_reader`" in text and "readonly = 1" in text
    assert result.asset_materializations_for_node("bi_readonly_access")[0].metadata["executed"].value is False
    monkeypatch.setenv("ANALYTICS_BI_USER", "x; DROP USER default")
    assert not dg.materialize([bi_readonly_access], resources={"clickhouse": clickhouse}, raise_on_error=False).success


def test_bi_views_cast_unsigned_integers_for_power_bi_and_tableau(sales):
    build_marts(sales)
    dg.materialize([bi_views], resources={"clickhouse": sales})
    with sales.get_client() as wh:
        types = dict(wh.rows("SELECT name, type FROM system.columns WHERE database = currentDatabase()"
                             " AND table = 'bi_dashboard_daily_metrics'"))
        assert types["total_orders"] == "Int64" and types["net_revenue"] == "Nullable(Decimal(18, 2))"
        assert wh.rows("SELECT * FROM bi_dashboard_daily_metrics ORDER BY date") == \
            wh.rows("SELECT * FROM dashboard_daily_metrics ORDER BY date")


@pytest.mark.parametrize("kind, cast", [
    ("UInt64", "Int64"), ("Nullable(UInt32)", "Nullable(Int64)"), ("LowCardinality(Nullable(UInt8))", "Nullable(Int16)"),
    ("Decimal(38, 2)", "Decimal(18, 2)"), ("Nullable(Decimal(38, 4))", "Nullable(Decimal(18, 4))"),
    ("Decimal(18, 2)", None), ("Decimal(76, 40)", None), ("Int64", None), ("LowCardinality(String)", None),
])
def test_bi_views_cast_what_power_bi_and_hyper_cannot_read(kind, cast):
    from analytics_assets.bi.assets import bi_type

    assert bi_type(kind) == cast


@pytest.mark.skipif(not tableau_available(), reason="the tableau extra (tableauhyperapi) is not installed")
def test_tableau_extracts_read_back_equal(sales, tmp_path):
    from tableauhyperapi import Connection, HyperProcess, Telemetry

    from analytics_assets.bi.assets import bi_dir, bi_tableau_extracts

    build_marts(sales)
    dg.materialize([bi_views, bi_parquet_extracts, bi_tableau_extracts], resources={"clickhouse": sales})
    with sales.get_client() as wh:
        expected = [tuple(r) for r in wh.rows("SELECT date, total_orders, net_revenue FROM dashboard_daily_metrics"
                                              " ORDER BY date")]
    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      parameters={"log_dir": str(tmp_path)}) as hyper, \
            Connection(hyper.endpoint, str(bi_dir() / "tableau" / "dashboard_daily_metrics.hyper")) as conn:
        rows = conn.execute_list_query('SELECT "date", "total_orders", "net_revenue" FROM "Extract"."Extract"'
                                       ' ORDER BY "date"')
    assert [(r[0].to_date(), r[1], r[2]) for r in rows] == expected


def test_the_bi_user_is_not_granted_the_landing_registries_and_quarantines_unless_configured(
        clickhouse, tmp_path, monkeypatch):
    """Partial revokes right after the database-wide GRANT, for every `*_files` and `*_quarantine`
    table the landing feeds create; ANALYTICS_BI_READ_LANDING_TABLES=true leaves them granted."""
    from analytics_assets.bi.assets import bi_readonly_access, landing_tables, readonly_access_sql
    from analytics_assets.events.load import ensure_tables as ensure_event_tables
    from analytics_assets.settings import SettingError
    from analytics_assets.web.load import ensure_tables as ensure_web_tables

    with clickhouse.get_client() as wh:
        ensure_web_tables(wh, 0)
        ensure_event_tables(wh, 0)
        created = {name for (name,) in wh.rows("SELECT name FROM system.tables WHERE database = {db:String}"
                                               " AND (name LIKE '%\\\\_files' OR name LIKE '%\\\\_quarantine')",
                                               {"db": wh.database})}
    assert created == set(landing_tables()) and len(created) == 4
    sql = readonly_access_sql("analytics")
    grant = sql.index("GRANT SELECT ON `analytics`.* TO `analytics_bi_reader`")
    assert sql[grant + 1:grant + 5] == [f"REVOKE SELECT ON `analytics`.`{table}` FROM `analytics_bi_reader`"
                                        for table in landing_tables()]
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    dg.materialize([bi_readonly_access], resources={"clickhouse": clickhouse})  # ClickHouse parses each one
    assert "REVOKE SELECT ON `analytics`.`website_metrics_quarantine`" in (
        tmp_path / "data" / "bi" / "readonly_access.sql").read_text()

    monkeypatch.setenv("ANALYTICS_BI_READ_LANDING_TABLES", "true")
    assert not any(statement.startswith("REVOKE") for statement in readonly_access_sql("analytics"))
    monkeypatch.setenv("ANALYTICS_BI_READ_LANDING_TABLES", "sometimes")
    with pytest.raises(SettingError, match="^ANALYTICS_BI_READ_LANDING_TABLES: 'sometimes' is not true or false"):
        readonly_access_sql("analytics")


def test_bi_job_feeds_a_user_datamart_and_waits_for_one_not_built_yet(sales, tmp_path):
    """`dagster job execute -j bi_job` with a user's datamart folder: the datamart gets its bi_ view
    (UInt64 counts cast to Int64), its Parquet file and its .hyper extract, which Hyper reads back
    equal to the table; a datamart not built yet is named as waiting and fails nothing."""
    import subprocess

    from analytics_assets.datamarts.assets import build_datamart_asset
    from analytics_assets.datamarts.spec import load_spec
    from analytics_assets_tests.support import DAGSTER, REPO

    build_marts(sales)
    specs = tmp_path / "datamarts"
    specs.mkdir()
    (specs / "region_orders_dm.yaml").write_text(
        "name: region_orders_dm\nindexes: [region]\nquery: |\n  SELECT region, count() AS orders,"
        " toUInt8(count() % 200) AS small, sum(net_amount) AS revenue FROM sales_fact GROUP BY region\n")
    (specs / "later_dm.yaml").write_text("name: later_dm\nquery: SELECT region FROM sales_fact\n")
    dg.materialize([build_datamart_asset(load_spec(specs / "region_orders_dm.yaml"), set())],
                   resources={"clickhouse": sales}, tags={AS_OF_TAG: "2026-11-02T00:00:00+00:00"})
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("ANALYTICS_", "DAGSTER_"))}
    env.update(ANALYTICS_CLICKHOUSE_DSN=sales.dsn, ANALYTICS_DATA_DIR=str(tmp_path / "data"),
               ANALYTICS_DATAMARTS_DIR=str(specs), DAGSTER_HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    done = subprocess.run([DAGSTER, "job", "execute", "-m", "analytics_assets.definitions", "-j", "bi_job"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "RUN_SUCCESS" in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]
    assert "datamart later_dm is not built yet" in done.stdout + done.stderr

    with sales.get_client() as wh:
        types = dict(wh.rows("SELECT name, type FROM system.columns WHERE database = currentDatabase()"
                             " AND table = 'bi_region_orders_dm'"))
        expected = wh.rows("SELECT region, orders, small, revenue FROM region_orders_dm ORDER BY region")
        assert not wh.table_exists("bi_later_dm")
    # count() is UInt64, sum() of a Decimal(18, 2) is Decimal(38, 2): neither is readable by Hyper
    assert (types["orders"], types["small"], types["revenue"]) == ("Int64", "Int16", "Nullable(Decimal(18, 2))")
    folder = tmp_path / "data" / "bi"
    extract = pq.read_table(folder / "parquet" / "region_orders_dm.parquet")
    assert sorted(tuple(r.values()) for r in extract.to_pylist()) == expected and len(expected) == 3
    assert str(extract.schema.field("orders").type) == "int64"
    assert not (folder / "parquet" / "later_dm.parquet").exists()
    if not tableau_available():
        return
    from tableauhyperapi import Connection, HyperProcess, TableName, Telemetry

    with HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                      parameters={"log_dir": str(tmp_path)}) as hyper, \
            Connection(hyper.endpoint, str(folder / "tableau" / "region_orders_dm.hyper")) as conn:
        rows = conn.execute_list_query('SELECT "region", "orders", "small", "revenue" FROM "Extract"."Extract"'
                                       ' ORDER BY "region"')
        table = conn.catalog.get_table_definition(TableName("Extract", "Extract"))
        orders_type = str(table.get_column_by_name("orders").type)
    assert [tuple(r) for r in rows] == expected and orders_type == "BIG_INT"
