"""Datamarts built from specs on the embedded engine: DDL, gates, atomic refresh, views,
definitions from a folder, and the command line."""

from __future__ import annotations

import threading
from pathlib import Path
from datetime import date, datetime, timezone
from decimal import Decimal

import dagster as dg
import pytest

from analytics_assets.cli import main
from analytics_assets.datamarts.assets import build_datamart_asset, datamart_definitions
from analytics_assets.datamarts.spec import parse_spec
from analytics_assets.logical_time import AS_OF_TAG

QUERY = ("SELECT day, region, sum(amount) AS revenue, count() AS orders FROM orders "
         "WHERE day < {as_of_date:Date32} GROUP BY day, region")


@pytest.fixture
def orders(clickhouse):
    with clickhouse.get_client() as wh:
        wh.command("CREATE TABLE orders (day Date32, region Nullable(String), amount Decimal(18, 2))"
                   " ENGINE = MergeTree ORDER BY day")
        wh.command("INSERT INTO orders VALUES ('2026-03-01', 'EU', 10.50), ('2026-03-01', 'EU', 1.25),"
                   " ('2026-03-02', NULL, 7.00), ('2026-03-03', 'US', 100.00)")
    return clickhouse


def spec(**changes):
    data = {"name": "orders_dm", "query": QUERY, "indexes": {"sort_key": ["day", "region"],
            "skip": [{"column": "region", "type": "set(100)", "granularity": 2}]},
            "partition_by": "toYYYYMM(day)", "checks": {"min_rows": 1, "not_null": ["day"],
                                                        "unique_key": ["day", "region"]}, **changes}
    return parse_spec({k: v for k, v in data.items() if v is not None}, source="test")


def materialize(clickhouse, the_spec, as_of=datetime(2026, 3, 3, tzinfo=timezone.utc), **kw):
    return dg.materialize([build_datamart_asset(the_spec, set())], resources={"clickhouse": clickhouse},
                          tags={AS_OF_TAG: as_of.isoformat()}, **kw)


def rows(clickhouse, sql):
    with clickhouse.get_client() as wh:
        return wh.rows(sql)


def test_a_datamart_is_built_with_its_sort_key_partitions_indexes_and_checks(orders):
    result = materialize(orders, spec())
    assert rows(orders, "SELECT day, region, revenue, orders FROM orders_dm ORDER BY day") == [
        (date(2026, 3, 1), "EU", Decimal("11.75"), 2), (date(2026, 3, 2), None, Decimal("7.00"), 1)]  # as of 3 March
    ddl = rows(orders, "SELECT create_table_query FROM system.tables WHERE name = 'orders_dm'")[0][0]
    for part in ("PARTITION BY toYYYYMM(day)", "ORDER BY (day, region)", "INDEX skip_region region TYPE set(100)"
                 " GRANULARITY 2", "allow_nullable_key = 1"):
        assert part in ddl
    checks = {e.event_specific_data.check_name: e.event_specific_data.passed for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks == {"min_rows": True, "day_not_null": True, "unique_key": True}
    assert result.asset_materializations_for_node("orders_dm")[0].metadata["dagster/row_count"].value == 2


def test_a_failing_check_keeps_the_previous_version(orders):
    materialize(orders, spec())
    before = rows(orders, "SELECT * FROM orders_dm ORDER BY ALL")
    duplicated = spec(query=QUERY.replace("GROUP BY day, region", "GROUP BY day, region, amount"))
    result = materialize(orders, duplicated, raise_on_error=False)
    assert not result.success
    assert rows(orders, "SELECT * FROM orders_dm ORDER BY ALL") == before
    failed = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert {c.check_name for c in failed if not c.passed} == {"unique_key"}


def test_readers_are_never_blocked_nor_see_an_empty_or_partial_datamart(orders):
    versions = {}
    times = (datetime(2026, 3, 2, tzinfo=timezone.utc), datetime(2026, 3, 4, tzinfo=timezone.utc))
    for as_of in times:
        materialize(orders, spec(), as_of)
        versions[as_of] = rows(orders, "SELECT count(), sum(revenue) FROM orders_dm")[0]
    assert len(set(versions.values())) == 2
    seen, errors, stop = set(), [], threading.Event()

    def read():
        with orders.get_client() as wh:
            while not stop.is_set():
                try:
                    seen.add(wh.rows("SELECT count(), sum(revenue) FROM orders_dm")[0])
                except Exception as exc:
                    errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(6):
            materialize(orders, spec(), times[i % 2])
    finally:
        stop.set()
        reader.join()
    assert not errors and seen and seen <= set(versions.values())


def test_a_view_datamart_is_always_current(orders):
    materialize(orders, spec(type="view", indexes=None, partition_by=None, checks={"min_rows": 1},
                             query="SELECT region, sum(amount) AS revenue FROM orders GROUP BY region"))
    assert rows(orders, "SELECT engine FROM system.tables WHERE name = 'orders_dm'") == [("View",)]
    with orders.get_client() as wh:
        wh.command("INSERT INTO orders VALUES ('2026-03-04', 'APAC', 5)")
    assert ("APAC", Decimal("5.00")) in rows(orders, "SELECT * FROM orders_dm")


def test_specs_in_the_folder_become_assets_and_schedules_and_bad_ones_are_left_out(tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_DATAMARTS_DIR", str(tmp_path))
    (tmp_path / "mine_dm.yaml").write_text(
        "name: mine_dm\nrefresh_strategy: scheduled\nrefresh_schedule: '15 3 * * *'\n"
        "query: SELECT o.day, c.customer_name FROM orders AS o JOIN sales_fact AS c ON o.day = c.sale_day\n")
    (tmp_path / "broken_dm.yaml").write_text("name: broken_dm\nquery: SELECT * FROM system.users\n")
    (tmp_path / "sales_fact.yaml").write_text("name: sales_fact\nquery: SELECT 1 AS x\n")
    (tmp_path / "sales_dashboard_dm.yaml").write_text("name: sales_dashboard_dm\nquery: SELECT 1 AS x\n")
    assets, schedules, errors, specs = datamart_definitions({"sales_fact"})
    assert sorted(s.name for s in specs) == sorted(a.key.to_user_string() for a in assets
                                                   if not a.key.to_user_string().endswith("_excel"))
    by_name = {a.key.to_user_string(): a for a in assets}
    assert {"mine_dm", "sales_dashboard_dm", "category_monthly_dm"} <= set(by_name)
    assert {k.to_user_string() for k in by_name["mine_dm"].dependency_keys} == {"orders", "sales_fact"}
    assert {s.name for s in schedules} == {"mine_dm_refresh", "sales_dashboard_dm_refresh"}
    assert next(s for s in schedules if s.name == "mine_dm_refresh").cron_schedule == "15 3 * * *"
    messages = sorted(str(e) for e in errors)
    assert any("broken_dm.yaml" in m and "system tables are not allowed" in m for m in messages)
    assert any("sales_fact.yaml" in m and "already a table of ours" in m for m in messages)
    assert any("sales_dashboard_dm.yaml" in m and "already defined by" in m for m in messages)


def test_the_command_line_creates_validates_lists_and_shows(orders, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYTICS_DATAMARTS_DIR", str(tmp_path / "specs"))
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", orders.dsn)
    refused = main(["datamart", "create", "evil_dm", "--query", "SELECT * FROM orders; DROP TABLE orders",
                    "--indexes", "day;DROP", "--schedule", "bad"])
    err = capsys.readouterr().err
    assert refused == 1 and "query: must be exactly one statement" in err and "indexes:" in err
    assert "refresh_schedule:" in err and not (tmp_path / "specs").exists()
    assert main(["datamart", "create", "nope_dm", "--query", "SELECT missing_column FROM orders"]) == 1
    assert "ClickHouse rejected it" in capsys.readouterr().err
    assert main(["datamart", "create", "daily_dm", "--query", "SELECT day, sum(amount) AS revenue FROM orders"
                 " GROUP BY day", "--schedule", "0 5 * * *", "--indexes", "day", "--unique-key", "day",
                 "--owner", "team:sales"]) == 0
    path = tmp_path / "specs" / "daily_dm.yaml"
    assert path.exists()
    assert main(["datamart", "create", "daily_dm", "--query", "SELECT 1 AS x"]) == 1  # exists
    capsys.readouterr()
    assert main(["datamart", "validate", str(path)]) == 0
    assert "ok: daily_dm (table, scheduled, 0 5 * * * UTC; reads orders)" in capsys.readouterr().out
    bad = tmp_path / "bad_dm.yaml"
    bad.write_text("name: bad_dm\nquery: SELECT nothing FROM orders\n")
    assert main(["datamart", "validate", str(bad)]) == 1
    main(["datamart", "list"])
    assert "daily_dm" in capsys.readouterr().out
    assert main(["datamart", "show", "daily_dm"]) == 0
    assert "not built yet" in capsys.readouterr().out


def test_an_excel_datamart_keeps_a_workbook_and_the_cli_exports_any_datamart(orders, tmp_path, monkeypatch, capsys):
    import openpyxl

    from analytics_assets.datamarts.assets import build_excel_asset

    monkeypatch.setenv("ANALYTICS_EXPORTS_DIR", str(tmp_path / "exports"))
    the_spec = spec(excel=True)
    result = dg.materialize([build_datamart_asset(the_spec, set()), build_excel_asset(the_spec)],
                            resources={"clickhouse": orders}, tags={AS_OF_TAG: "2026-03-04T00:00:00+00:00"})
    metadata = result.asset_materializations_for_node("orders_dm_excel")[0].metadata
    assert metadata["rows"].value == 3 and metadata["charts"].value >= 1
    book = openpyxl.load_workbook(tmp_path / "exports" / "orders_dm.xlsx")
    data = [row for row in book["Data"].iter_rows(values_only=True)]
    assert data[0][:4] == ("day", "region", "revenue", "orders") and len(data) == 4
    assert book["Charts"]._charts

    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", orders.dsn)
    out = tmp_path / "by-hand.xlsx"
    assert main(["export", "excel", "orders_dm", "--output", str(out)]) == 0
    assert "3 rows" in capsys.readouterr().out and out.exists()
    assert main(["export", "excel", "no_such_dm", "--output", str(out)]) == 2
    assert "no_such_dm" in capsys.readouterr().err


def test_the_excel_flags_of_the_spec_and_the_command_line_are_honoured(orders, tmp_path, monkeypatch, capsys):
    """`excel: {include_charts: false}` keeps a workbook without charts; `export excel --no-charts
    --no-summary` writes the data alone, and without flags the spec's setting applies."""
    import openpyxl

    from analytics_assets.datamarts.assets import build_excel_asset

    monkeypatch.setenv("ANALYTICS_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("ANALYTICS_DATAMARTS_DIR", str(tmp_path / "specs"))
    monkeypatch.setenv("ANALYTICS_CLICKHOUSE_DSN", orders.dsn)
    the_spec = spec(excel={"include_charts": False})
    result = dg.materialize([build_datamart_asset(the_spec, set()), build_excel_asset(the_spec)],
                            resources={"clickhouse": orders}, tags={AS_OF_TAG: "2026-03-04T00:00:00+00:00"})
    assert result.asset_materializations_for_node("orders_dm_excel")[0].metadata["charts"].value == 0
    assert openpyxl.load_workbook(tmp_path / "exports" / "orders_dm.xlsx").sheetnames == ["Summary", "Data"]

    out = tmp_path / "bare.xlsx"
    assert main(["export", "excel", "orders_dm", "--output", str(out), "--no-charts", "--no-summary"]) == 0
    assert openpyxl.load_workbook(out).sheetnames == ["Data"]
    assert main(["export", "excel", "orders_dm", "--output", str(out), "--no-summary"]) == 0
    assert openpyxl.load_workbook(out).sheetnames == ["Charts", "Data", "Chart data"]
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "orders_dm.yaml").write_text(the_spec.to_yaml())  # its spec: no charts
    assert main(["export", "excel", "orders_dm", "--output", str(out)]) == 0
    assert openpyxl.load_workbook(out).sheetnames == ["Summary", "Data"]
    assert "0 chart(s)" in capsys.readouterr().out


def test_each_materialization_records_the_columns_clickhouse_gave_the_datamart(orders):
    """A datamart's columns are its query's: the schema comes from system.columns after each build."""
    the_spec = spec()
    result = materialize(orders, the_spec)
    schema = result.asset_materializations_for_node("orders_dm")[0].metadata["dagster/column_schema"].value
    assert [(c.name, c.type) for c in schema.columns] == [
        ("day", "Date32"), ("region", "Nullable(String)"), ("revenue", "Decimal(38, 2)"), ("orders", "UInt64")]
    refs = build_datamart_asset(the_spec, set()).specs_by_key[dg.AssetKey("orders_dm")].metadata[
        "dagster/code_references"].code_references
    assert [Path(r.file_path).name for r in refs] == ["test", "build.py"]
