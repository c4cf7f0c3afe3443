"""SQL files: a shared fragment is spliced in where a file names it; a table's window is one number."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from analytics_assets.customers.assets import CUSTOMER_RFM
from analytics_assets.sales.marts import MARTS
from analytics_assets.warehouse import sql
from analytics_assets.warehouse.sql import load_sql, sql_fragment
from analytics_assets.warehouse.sql_table_asset import SqlTable

PACKAGE = Path(sql.__file__).parents[1]
AS_OF = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def fragments(tmp_path, monkeypatch):
    """A package root of our own for fragments (and the fragment cache emptied around the test)."""
    monkeypatch.setattr(sql, "PACKAGE", tmp_path)
    sql_fragment.cache_clear()
    yield tmp_path
    sql_fragment.cache_clear()


def test_a_fragment_is_spliced_on_the_line_that_names_it(fragments):
    (fragments / "d").mkdir()
    (fragments / "d" / "rule.fragment.sql").write_text("-- why the rule\nx = 'A'\n")
    (fragments / "d" / "both.fragment.sql").write_text("-- two rules\n({{ d/rule }}\n AND y < {as_of:Date})\n")
    (fragments / "t.sql").write_text("SELECT *\nFROM t WHERE {{d/both}} AND z -- {{ d/rule }}\nORDER BY 1\n")
    text = load_sql(fragments / "t.sql")
    assert text == "SELECT *\nFROM t WHERE (x = 'A' AND y < {as_of:Date}) AND z -- x = 'A'\nORDER BY 1\n"


def test_an_unknown_fragment_is_an_error_naming_its_file(fragments):
    (fragments / "t.sql").write_text("SELECT 1 WHERE {{ d/missing }}")
    with pytest.raises(FileNotFoundError, match=r"d/missing\.fragment\.sql"):
        load_sql(fragments / "t.sql")


def test_which_sales_count_is_written_once():
    """The completed-sales rule lives in its fragment; every file that counts sales names it."""
    rule = "'COMPLETED'"
    assert sql_fragment("sales/completed_sale") == f"status = {rule}"
    spelled = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*")) if p.suffix in (".sql", ".py")
               and rule in p.read_text(encoding="utf-8") and "demo" not in p.parts  # the source's generator
               and p.name != "completed_sale.fragment.sql"]
    assert spelled == []
    naming = [p.name for p in PACKAGE.rglob("*.sql") if "{{ sales/completed_sale" in p.read_text(encoding="utf-8")]
    assert len(naming) >= 13, naming


def test_a_windowed_table_binds_the_first_day_of_its_one_number():
    table = SqlTable("t", "", Path("."), "g", (), window_days=30)
    assert table.first_day(date(2026, 3, 1)) == date(2026, 1, 30)
    assert table.query_parameters(AS_OF) == {"as_of": AS_OF, "as_of_date": date(2026, 3, 1),
                                             "window_start": date(2026, 1, 30)}
    assert "window_start" not in SqlTable("t", "", Path("."), "g", ()).query_parameters(AS_OF)
    with pytest.raises(ValueError, match="not both"):
        SqlTable("t", "", Path("."), "g", (), window_days=7, window_start=lambda d: d)


@pytest.mark.parametrize("table", [t for t in (*MARTS, CUSTOMER_RFM) if t.first_day(AS_OF.date())],
                         ids=lambda t: t.name)
def test_a_windowed_table_has_no_day_count_of_its_own(table):
    text = load_sql(table.sql_dir / f"{table.name}.sql")
    assert "{window_start:Date32}" in text
    assert not re.search(r"as_of_date:Date32\}\s*-\s*\d", text)
    assert not [g.name for g in table.gates if re.search(r"as_of_date:Date32\}\s*-\s*\d", g.sql)]


def test_the_one_number_decides_which_days_a_mart_reads(clickhouse):
    """dashboard_regional_breakdown built with other window_days: the SQL follows the number, and
    only completed sales before the logical time count."""
    from dataclasses import replace

    from analytics_assets.sales import fact
    from analytics_assets.warehouse.sql import render_sql

    (mart,) = [m for m in MARTS if m.name == "dashboard_regional_breakdown"]
    with clickhouse.get_client() as wh:
        wh.command(render_sql(sql.sql_file(fact.__file__, "sales_fact_table"), target="sales_fact"))
        # days before the logical date: 1, 10, 40 (completed), 1 (cancelled), and one sale after it
        for sale_id, when, status in ((1, "2026-02-28 10:00:00", "COMPLETED"), (2, "2026-02-19 10:00:00", "COMPLETED"),
                                      (3, "2026-01-20 10:00:00", "COMPLETED"), (4, "2026-02-28 11:00:00", "CANCELLED"),
                                      (5, "2026-03-01 13:00:00", "COMPLETED")):
            wh.command("INSERT INTO sales_fact (sale_id, sale_day, sale_date, customer_id, net_amount, status,"
                       " customer_found, region, updated_at) VALUES ({i:Int64}, toDate32({w:DateTime64(6, 'UTC')}),"
                       " {w:DateTime64(6, 'UTC')}, 1, 10, {s:String}, 1, 'Europe', now64(6))",
                       {"i": sale_id, "w": datetime.fromisoformat(when).replace(tzinfo=timezone.utc), "s": status})
        orders = {}
        for days in (7, 30, 60):
            table = replace(mart, window_days=days)
            wh.command(render_sql(load_sql(table.sql_dir / f"{table.name}.sql"), target=f"w{days}"),
                       table.query_parameters(AS_OF))
            orders[days] = wh.scalar(f"SELECT sum(total_orders) FROM w{days}")
    assert orders == {7: 1, 30: 2, 60: 3}
