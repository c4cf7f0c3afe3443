"""Spec files: every field validated, injection attempts refused by name, dependencies inferred."""

from __future__ import annotations

import pytest

from analytics_assets.datamarts.assets import EXAMPLES
from analytics_assets.datamarts.spec import SpecError, inspect_query, load_spec, parse_spec

GOOD = {"name": "orders_dm", "type": "table", "refresh_strategy": "scheduled", "refresh_schedule": "0 */6 * * *",
        "query": "SELECT day, sum(amount) AS revenue FROM orders GROUP BY day", "indexes": ["day"],
        "checks": {"min_rows": 1, "unique_key": ["day"]}}


def problems(**changes) -> list[tuple[str, str]]:
    data = {**GOOD, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(SpecError) as caught:
        parse_spec(data, source="test")
    return caught.value.problems


def fields(**changes) -> set[str]:
    return {f for f, _ in problems(**changes)}


def test_the_shipped_examples_are_valid_and_round_trip():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        spec = load_spec(path)
        import yaml

        again = parse_spec(yaml.safe_load(spec.to_yaml()), source=spec.source)
        assert again == spec
    assert load_spec(EXAMPLES / "sales_dashboard_dm.yaml").tables == ("sales_fact",)


@pytest.mark.parametrize("changes, field", [
    ({"name": "orders; DROP TABLE sales_fact"}, "name"),
    ({"name": "`x`"}, "name"),
    ({"name": "_staging_x"}, "name"),
    ({"name": "bi_orders"}, "name"),  # bi_<datamart> is the datamart's BI view
    ({"name": None}, "name"),
    ({"type": "table; DROP"}, "type"),
    ({"refresh_strategy": "always"}, "refresh_strategy"),
    ({"refresh_schedule": "0 */6 * * * ; rm -rf /"}, "refresh_schedule"),
    ({"refresh_schedule": "61 * * * *"}, "refresh_schedule"),
    ({"refresh_schedule": None}, "refresh_schedule"),
    ({"refresh_mode": "truncate"}, "refresh_mode"),
    ({"query": "SELECT 1; DROP TABLE sales_fact"}, "query"),
    ({"query": "DROP TABLE sales_fact"}, "query"),
    ({"query": "INSERT INTO sales_fact SELECT * FROM sales_fact"}, "query"),
    ({"query": "ALTER TABLE sales_fact DELETE WHERE 1"}, "query"),
    ({"query": "SELECT * FROM system.users"}, "query"),
    ({"query": "SELECT * FROM other_db.t"}, "query"),
    ({"query": "SELECT * FROM file('/etc/passwd', 'LineAsString')"}, "query"),
    ({"query": "SELECT file('/etc/passwd')"}, "query"),
    ({"query": "SELECT * FROM url('http://127.0.0.1/x', CSV)"}, "query"),
    ({"query": "SELECT * FROM orders WHERE id IN (SELECT id FROM remote('h', db.t))"}, "query"),
    ({"query": "SELECT * FROM postgresql('h:5432', 'db', 't', 'u', 'p')"}, "query"),
    ({"query": "SELECT * FROM orders SETTINGS readonly = 0"}, "query"),
    ({"query": "SELECT * FROM orders INTO OUTFILE '/tmp/x'"}, "query"),
    ({"query": "SELECT * FROM orders FORMAT CSV"}, "query"),
    ({"query": ""}, "query"),
    ({"indexes": ["day", "day) ; DROP TABLE x; --"]}, "indexes"),
    ({"indexes": {"sort_key": ["day"], "skip": [{"column": "day", "type": "minmax); DROP TABLE x"}]}},
     "indexes.skip[0].type"),
    ({"partition_by": "toYYYYMM(day)); DROP TABLE x; --"}, "partition_by"),
    ({"partition_by": "sleep(3)"}, "partition_by"),
    ({"owners": ["nobody; DROP"]}, "owners"),
    ({"checks": {"not_null": ["x' OR 1=1 --"]}}, "checks.not_null"),
    ({"checks": {"unique_key": ["a,b) FROM x; --"]}}, "checks.unique_key"),
    ({"checks": {"min_rows": -1}}, "checks.min_rows"),
    ({"excel": "yes"}, "excel"),
    ({"excel": {"include_charts": "no"}}, "excel.include_charts"),
    ({"excel": {"include_summary": 0}}, "excel.include_summary"),
    ({"excel": {"include_pivot": True}}, "excel.include_pivot"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_fields_are_refused_by_name(changes, field):
    assert field in fields(**changes)


def test_the_excel_setting_keeps_the_export_flags_and_round_trips():
    import yaml

    from analytics_assets.datamarts.catalog import export_flags
    from analytics_assets.datamarts.spec import ExcelOptions

    plain = parse_spec({**GOOD, "excel": True}, source="test")
    assert plain.excel == ExcelOptions(True, True) and "excel: true" in plain.to_yaml()
    lean = parse_spec({**GOOD, "excel": {"include_charts": False}}, source="test")
    assert lean.excel == ExcelOptions(include_charts=False, include_summary=True)
    assert parse_spec(yaml.safe_load(lean.to_yaml()), source="test") == lean
    assert parse_spec({**GOOD, "excel": False}, source="test").excel is None
    # an export takes what is asked, else the spec's setting, else everything
    assert export_flags(lean, None, None) == (False, True)
    assert export_flags(lean, True, False) == (True, False)
    assert export_flags(None, None, None) == (True, True)


def test_every_problem_is_reported_at_once():
    assert fields(name="a b", refresh_schedule="nope", query="SELECT 1; SELECT 2") == {
        "name", "refresh_schedule", "query"}


def test_a_view_cannot_have_storage_options_nor_a_logical_time():
    assert fields(type="view") == {"type"}  # GOOD has a sort key
    assert fields(type="view", indexes=None, query="SELECT * FROM t WHERE d < {as_of_date:Date32}") == {"query"}


def test_dependencies_are_the_tables_the_query_reads():
    tables, found = inspect_query(
        "WITH recent AS (SELECT * FROM sales_fact WHERE sale_day > today() - 7) "
        "SELECT r.region, c.segment FROM recent AS r JOIN raw_customers AS c FINAL ON r.customer_id = c.customer_id "
        "WHERE r.product_id IN (SELECT product_id FROM raw_products) UNION ALL SELECT 'x', 'y' FROM numbers(1)")
    assert found == [] and tables == ("raw_customers", "raw_products", "sales_fact")


def test_a_spec_file_must_be_named_after_its_datamart(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text("name: orders_dm\nquery: SELECT 1 AS x\n")
    with pytest.raises(SpecError, match="differs from the file name"):
        load_spec(path)
    path.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not readable YAML"):
        load_spec(path)
