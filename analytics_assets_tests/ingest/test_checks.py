"""The replica checks pass on clean data and fail, with evidence, on bad data."""

from __future__ import annotations

import dagster as dg

from analytics_assets.demo import generator
from analytics_assets.ingest.assets import replica_assets
from analytics_assets.ingest.checks import replica_checks
from analytics_assets.resources import PostgresResource
from analytics_assets_tests.ingest.conftest import AS_OF, execute


def materialize(pg: PostgresResource, clickhouse, run_config=None) -> dict:
    result = dg.materialize(
        [*replica_assets, *replica_checks],
        resources={"postgres": pg, "clickhouse": clickhouse},
        run_config=run_config,
        raise_on_error=False,
    )
    evaluations = {
        f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:{e.asset_check_evaluation_data.check_name}":
            e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    return {"result": result, "checks": evaluations}


def meta(evaluation, key):
    return evaluation.metadata[key].value


def test_clean_source_passes_every_check(pg_dsn, clickhouse):
    generator.generate(pg_dsn, customers=300, products=40, sales=3000, seed=5, as_of=AS_OF)
    run = materialize(PostgresResource(dsn=pg_dsn), clickhouse)
    assert run["result"].success
    assert len(run["checks"]) == 10
    assert all(c.passed for c in run["checks"].values()), {k: c.passed for k, c in run["checks"].items()}
    unique = run["checks"]["raw_sales:source_keys_unique"]
    assert meta(unique, "enforced_by") == "NOT NULL and unique index sales_pkey"
    materialization = run["result"].asset_materializations_for_node("raw_sales")[0]
    assert materialization.metadata["rows_read"].value == 3000
    assert materialization.metadata["watermark_before"].value == "none"


def test_orphan_keys_warn_with_counts_and_samples(source, clickhouse):
    run = materialize(source, clickhouse)
    assert run["result"].success  # a warning, not a gate
    orphans = run["checks"]["raw_sales:orphan_keys"]
    assert not orphans.passed and orphans.severity == dg.AssetCheckSeverity.WARN
    with source.connect() as conn:
        expected_c = conn.execute(
            "SELECT count(*) FROM sales s WHERE s.customer_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)"
        ).fetchone()[0]
        expected_p = conn.execute(
            "SELECT count(*) FROM sales s WHERE s.product_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = s.product_id)"
        ).fetchone()[0]
    assert expected_c > 0 and expected_p > 0
    assert meta(orphans, "orphan_customer_id") == expected_c
    assert meta(orphans, "orphan_product_id") == expected_p
    assert 0 < len(meta(orphans, "sample_sale_ids_orphan_customer")) <= 10


def test_duplicate_source_keys_block_downstream(pg_dsn, clickhouse):
    generator.generate(pg_dsn, customers=300, products=40, sales=3000, seed=5, as_of=AS_OF)
    pg = PostgresResource(dsn=pg_dsn)
    execute(pg, "ALTER TABLE products DROP CONSTRAINT products_pkey;"
                " INSERT INTO products SELECT * FROM products WHERE product_id IN (3, 4)")
    run = materialize(pg, clickhouse)
    unique = run["checks"]["raw_products:source_keys_unique"]
    assert not unique.passed and unique.severity == dg.AssetCheckSeverity.ERROR
    assert meta(unique, "duplicated_keys_sample") == [{"key": 3, "rows": 2}, {"key": 4, "rows": 2}]
    assert not run["result"].success  # a blocking check fails the run


def test_hard_deletes_fail_matches_source_until_reconciled(pg_dsn, clickhouse):
    generator.generate(pg_dsn, customers=300, products=40, sales=3000, seed=5, as_of=AS_OF)
    pg = PostgresResource(dsn=pg_dsn)
    materialize(pg, clickhouse)
    execute(pg, "DELETE FROM sales WHERE sale_id <= 7")
    stale = materialize(pg, clickhouse)["checks"]["raw_sales:matches_source"]
    assert not stale.passed and meta(stale, "difference") == 7
    reconciled = materialize(pg, clickhouse, run_config={
        "ops": {"raw_sales": {"config": {"reconcile_deletes": True}}}
    })
    check = reconciled["checks"]["raw_sales:matches_source"]
    assert check.passed and meta(check, "replica_rows") == 2993
    tomb = reconciled["result"].asset_materializations_for_node("raw_sales")[0].metadata["tombstones"].value
    assert tomb == 7
