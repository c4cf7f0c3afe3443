"""Replicas equal the source row for row, in both transfer modes, through every kind of change."""

from __future__ import annotations

import pytest

from analytics_assets.demo import generator
from analytics_assets.ingest.replicate import replicate
from analytics_assets.ingest.sources import CUSTOMERS, SALES, SOURCE_TABLES
from analytics_assets.ingest.transfer import SourceSchemaError
from analytics_assets.resources import PostgresResource
from analytics_assets_tests.ingest.conftest import (
    assert_replicas_equal_source,
    execute,
    replica_rows,
)

MODES = ["server", "client"]


def replicate_all(wh, pg, **kwargs):
    return {t.name: replicate(wh, pg, t, **kwargs) for t in SOURCE_TABLES}


@pytest.mark.parametrize("mode", MODES)
def test_full_load_then_activity_then_updates_and_deletes(source, clickhouse, mode):
    with clickhouse.get_client() as wh:
        first = replicate_all(wh, source, mode=mode)
        assert all(r.full_resync and r.resync_reason == "replica missing" for r in first.values())
        assert first["sales"].rows_read == 6000 + sum(0 for _ in ())  # every source row, dirty ones included
        assert_replicas_equal_source(wh, source)

        activity = generator.apply_activity(source.dsn, seed=3)
        assert activity.new_sales > 0
        second = replicate_all(wh, source, mode=mode)
        assert not any(r.full_resync for r in second.values())
        # Incremental: only the hour of activity plus the look-back is read, not the table.
        assert activity.new_sales <= second["sales"].rows_read < 6000
        assert second["sales"].watermark_after > first["sales"].watermark_after
        assert_replicas_equal_source(wh, source)

        execute(source, "UPDATE customers SET region = 'Europe', updated_at = now() WHERE customer_id <= 5")
        execute(source, "DELETE FROM sales WHERE sale_id IN (1, 2, 3)")
        execute(source, "DELETE FROM customers WHERE customer_id = 600")
        third = replicate_all(wh, source, mode=mode, reconcile_deletes=True)
        assert third["sales"].tombstones == 3 and third["customers"].tombstones == 1
        assert_replicas_equal_source(wh, source)

        # Idempotent: nothing changed, nothing new appears, no duplicates.
        replicate_all(wh, source, mode=mode, reconcile_deletes=True)
        assert_replicas_equal_source(wh, source)
        assert wh.scalar("SELECT count() - uniqExact(sale_id) FROM raw_sales FINAL") == 0


def test_both_modes_write_identical_replicas(source, clickhouse, tmp_path):
    from analytics_assets.resources import ClickHouseResource

    with clickhouse.get_client() as wh:
        replicate_all(wh, source, mode="server")
        server_side = {t.name: replica_rows(wh, t) for t in SOURCE_TABLES}
    other = ClickHouseResource(dsn=f"chdb://{tmp_path / 'other'}", database="analytics")
    with other.get_client() as wh:
        replicate_all(wh, source, mode="client")
        client_side = {t.name: replica_rows(wh, t) for t in SOURCE_TABLES}
    assert server_side == client_side


def test_full_resync_rebuilds_and_drops_rows_deleted_at_source(source, clickhouse):
    with clickhouse.get_client() as wh:
        replicate_all(wh, source)
        execute(source, "DELETE FROM sales WHERE sale_id <= 100")
        incremental = replicate(wh, source, SALES)
        assert wh.row_count("raw_sales", final=True) == 6000  # deletes are invisible to the watermark
        resync = replicate(wh, source, SALES, full_resync=True)
        assert resync.full_resync and resync.resync_reason == "requested" and incremental.rows_read < 100
        assert_replicas_equal_source(wh, source, tables=[SALES])


def test_schema_drift_triggers_a_full_resync(source, clickhouse):
    with clickhouse.get_client() as wh:
        replicate(wh, source, CUSTOMERS)
        wh.command("ALTER TABLE raw_customers DROP COLUMN state")
        result = replicate(wh, source, CUSTOMERS)
        assert result.full_resync and "differ from the spec" in result.resync_reason
        assert_replicas_equal_source(wh, source, tables=[CUSTOMERS])


KILL_AFTER_ROWS = """
CREATE FUNCTION die_after(id bigint, n bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF id > n THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
  RETURN true;
END $$;
ALTER TABLE sales RENAME TO sales_real;
CREATE VIEW sales AS SELECT * FROM sales_real WHERE die_after(sale_id, %s);
"""
RESTORE = "DROP VIEW sales; ALTER TABLE sales_real RENAME TO sales; DROP FUNCTION die_after;"


@pytest.mark.parametrize("mode", MODES)
def test_postgres_dying_mid_transfer_keeps_the_replica_and_the_next_run_catches_up(source, clickhouse, mode):
    with clickhouse.get_client() as wh:
        replicate_all(wh, source, mode=mode)
        before = replica_rows(wh, SALES)
        generator.apply_activity(source.dsn, seed=11)
        with source.connect(autocommit=True) as conn:  # dies on the first sale the activity added
            conn.execute(KILL_AFTER_ROWS.replace("%s", str(max(r[0] for r in before))))
        with pytest.raises(Exception):
            replicate(wh, source, SALES, mode=mode, block_bytes=4096)
        assert replica_rows(wh, SALES) == before, "a failed transfer must leave the replica as it was"
        assert wh.scalar("SELECT count() FROM system.tables WHERE name LIKE '\\_staging\\_%'") == 0

        # A full resync dying mid-way also leaves the previous replica readable and complete.
        with pytest.raises(Exception):
            replicate(wh, source, SALES, mode=mode, full_resync=True, block_bytes=4096)
        assert replica_rows(wh, SALES) == before

        with source.connect(autocommit=True) as conn:
            conn.execute(RESTORE)
        replicate(wh, source, SALES, mode=mode)
        assert_replicas_equal_source(wh, source, tables=[SALES])


@pytest.mark.parametrize("mode", MODES)
def test_a_users_schema_with_other_column_types(pg_dsn, clickhouse, mode):
    pg = PostgresResource(dsn=pg_dsn)
    execute(pg, """
        CREATE TABLE customers (customer_id integer PRIMARY KEY, customer_name varchar(80), email text,
            signup_date timestamp, customer_segment varchar(20), region text, country char(2), state text,
            loyalty_tier text, updated_at timestamp NOT NULL);
        CREATE TABLE products (product_id bigint PRIMARY KEY, product_name text, category text,
            subcategory text, updated_at timestamptz);
        CREATE TABLE sales (sale_id bigint PRIMARY KEY, customer_id integer, product_id bigint,
            sale_date timestamp, quantity smallint, unit_price numeric, total_amount numeric(14, 4),
            discount_amount numeric(10, 2), tax_amount double precision, status varchar(12),
            updated_at timestamptz NOT NULL);
        INSERT INTO customers VALUES (1, 'Ann', 'a@x', '2024-01-02 10:00', 'SMB', 'Europe', 'DE', NULL, 'gold',
            '2024-05-01 00:00:00');
        INSERT INTO products VALUES (9000000000, 'Phone', 'Electronics', 'Phones', NULL);
        INSERT INTO sales VALUES (1, 1, 9000000000, '2024-05-01 23:30:00', 3, 19.995, 59.9850, 0.50, 4.4,
            'COMPLETED', '2024-05-02 00:00:00+02');
    """)
    with clickhouse.get_client() as wh:
        replicate_all(wh, pg, mode=mode)
        (row,) = wh.rows("SELECT sale_id, product_id, toString(sale_date), quantity, unit_price, total_amount,"
                         " tax_amount, toString(updated_at) FROM raw_sales FINAL")
        assert row[:4] == (1, 9000000000, "2024-05-01 23:30:00.000000", 3)
        # Money is rounded half away from zero to cents, as PostgreSQL's round() does.
        assert [str(v) for v in row[4:7]] == ["20.00", "59.99", "4.40"]
        assert row[7] == "2024-05-01 22:00:00.000000"
        assert wh.rows("SELECT toString(signup_date), toString(updated_at) FROM raw_customers FINAL") == [
            ("2024-01-02", "2024-05-01 00:00:00.000000")
        ]
        # A NULL updated_at is read on every run (it can never pass a watermark) and kept as the epoch.
        assert wh.scalar("SELECT toString(updated_at) FROM raw_products FINAL") == "1970-01-01 00:00:00.000000"


@pytest.mark.parametrize("mode", MODES)
def test_timestamps_are_utc_whatever_the_source_timezone(source, clickhouse, mode):
    with source.connect(autocommit=True) as conn:
        dbname = conn.info.dbname
        conn.execute(f'ALTER DATABASE "{dbname}" SET timezone = \'Asia/Kolkata\'')
    with clickhouse.get_client() as wh:
        replicate_all(wh, source, mode=mode)
        assert_replicas_equal_source(wh, source)


def test_a_missing_column_names_table_and_column(source, clickhouse):
    execute(source, "ALTER TABLE sales DROP COLUMN discount_amount")
    with clickhouse.get_client() as wh, pytest.raises(SourceSchemaError) as error:
        replicate(wh, source, SALES)
    assert str(error.value) == "source table public.sales is missing required column(s): discount_amount"


def test_a_missing_table_is_named(pg_dsn, clickhouse):
    with clickhouse.get_client() as wh, pytest.raises(SourceSchemaError, match="public.customers does not exist"):
        replicate(wh, PostgresResource(dsn=pg_dsn), CUSTOMERS)


def test_an_unknown_transfer_mode_names_the_setting(source, clickhouse):
    with clickhouse.get_client() as wh, pytest.raises(ValueError, match="transfer_mode.*'ftp'"):
        replicate(wh, source, SALES, mode="ftp")


def test_the_recorded_watermark_equals_the_replicas_own(source, clickhouse):
    """Each pull records the watermark it leaves (one row) so that the next one need not read two
    columns of the whole replica; it must equal what reading them says, and a rebuilt replica (a new
    table) must not inherit the old one's."""
    from analytics_assets.ingest.replicate import NEWEST_VERSION, watermark

    def scanned(wh, table):
        return wh.scalar(f"SELECT {NEWEST_VERSION} FROM {table.replica}")

    with clickhouse.get_client() as wh:
        replicate_all(wh, source)
        generator.apply_activity(source.dsn, seed=4)
        execute(source, "UPDATE sales SET updated_at = '2099-01-01 00:00+00' WHERE sale_id = 10")  # capped
        results = replicate_all(wh, source)
        for table in SOURCE_TABLES:
            assert watermark(wh, table) == results[table.name].watermark_after
            assert watermark(wh, table).replace(tzinfo=None) == scanned(wh, table), table.name
        recorded = watermark(wh, SALES)
        wh.command("TRUNCATE TABLE raw_sales")  # what the recorded value no longer describes...
        replicate(wh, source, SALES, full_resync=True)  # ...and a rebuilt replica (new table)
        assert watermark(wh, SALES).replace(tzinfo=None) == scanned(wh, SALES)
        assert wh.scalar("SELECT count() FROM replica_watermarks WHERE replica = 'raw_sales'") >= 2
        assert recorded is not None
