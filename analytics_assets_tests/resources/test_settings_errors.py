"""Bad settings give one clear line naming the setting, with the password masked."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from analytics_assets.ingest.sources import SALES
from analytics_assets.ingest.transfer import Source, Window, server_pull
from analytics_assets.resources import ClickHouseResource, PostgresResource
from analytics_assets.settings import SettingError


def _error_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_unreachable_postgres(postgres_server):
    pg = PostgresResource(dsn="postgresql://alice:s3cret-pw@127.0.0.1:1/sales", connect_timeout_seconds=2)
    with pytest.raises(SettingError) as excinfo, pg.connect():
        pass
    line = _error_line(excinfo)
    assert line.startswith("ANALYTICS_POSTGRES_DSN: cannot connect to PostgreSQL at postgresql://alice:***@127.0.0.1:1/sales")
    assert "s3cret-pw" not in line


def test_unauthorized_postgres(postgres_server):
    admin = postgres_server.dsn_for("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS locked_out")
        conn.execute("CREATE ROLE locked_out LOGIN PASSWORD 'right-password'")
    hba = postgres_server.data_dir / "pg_hba.conf"
    rules = hba.read_text()
    hba.write_text("host all locked_out 127.0.0.1/32 scram-sha-256\n" + rules)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
        port = postgres_server.status().port
        pg = PostgresResource(dsn=f"postgresql://locked_out:wrong-password@127.0.0.1:{port}/postgres")
        with pytest.raises(SettingError) as excinfo, pg.connect():
            pass
        line = _error_line(excinfo)
        assert "ANALYTICS_POSTGRES_DSN" in line and "password authentication failed" in line
        assert "wrong-password" not in line and "locked_out:***@" in line
    finally:
        hba.write_text(rules)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")


def test_unknown_database(postgres_server):
    pg = PostgresResource(dsn=postgres_server.dsn_for("no_such_db"))
    with pytest.raises(SettingError, match='ANALYTICS_POSTGRES_DSN: .*database "no_such_db" does not exist'):
        with pg.connect():
            pass


def test_malformed_postgres_dsn():
    with pytest.raises(SettingError, match="ANALYTICS_POSTGRES_DSN: not a valid libpq DSN"):
        PostgresResource(dsn="postgresql://u:p@h:notaport:/x y=").target()


def test_unreachable_clickhouse_server():
    ch = ClickHouseResource(dsn="http://bob:hunter2-pw@127.0.0.1:1", database="analytics")
    with pytest.raises(SettingError) as excinfo, ch.get_client():
        pass
    line = _error_line(excinfo)
    assert line.startswith("ANALYTICS_CLICKHOUSE_DSN: cannot connect to ClickHouse at http://bob:***@127.0.0.1:1")
    assert "hunter2-pw" not in line


@pytest.mark.parametrize("dsn", ["chdb://memory", "chdb://relative/path"])
def test_chdb_dsn_must_be_an_absolute_path(dsn):
    with pytest.raises(SettingError, match="ANALYTICS_CLICKHOUSE_DSN: .*chdb:///absolute/path"):
        with ClickHouseResource(dsn=dsn).get_client():
            pass


def test_invalid_database_name(tmp_path):
    ch = ClickHouseResource(dsn=f"chdb://{tmp_path}/ch", database="analytics; DROP TABLE x")
    with pytest.raises(ValueError, match="ANALYTICS_CLICKHOUSE_DATABASE: .* is not a valid identifier"):
        with ch.get_client():
            pass


def test_server_side_transfer_errors_never_show_the_source_password(clickhouse, pg_dsn):
    pg = PostgresResource(dsn="postgresql://postgres:pw-XYZ-secret@127.0.0.1:1/nowhere")
    with clickhouse.get_client() as wh:
        wh.command("CREATE TABLE target (sale_id Int64) ENGINE = MergeTree ORDER BY sale_id")
        with pytest.raises(Exception) as excinfo:
            server_pull(wh, pg, Source(SALES, "public", {}, None, 150000), "target", Window(since=None))
    assert "pw-XYZ-secret" not in str(excinfo.value)
    assert "pw-XYZ-secret" not in repr(excinfo.value.args)


def test_local_default_dsn_names_the_setting_when_the_server_is_not_running(tmp_path, monkeypatch):
    monkeypatch.delenv("ANALYTICS_POSTGRES_DSN", raising=False)
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path))
    with pytest.raises(SettingError, match="ANALYTICS_POSTGRES_DSN is unset and .*analytics-assets postgres start"):
        PostgresResource().resolved_dsn()


@pytest.mark.parametrize("dsn, masked", [
    ("postgresql://alice:s%40cret@db:5432/sales", "postgresql://alice:***@db:5432/sales"),
    ("postgresql://db:5432/sales?user=alice&password=s3cret&sslmode=require",
     "postgresql://db:5432/sales?user=alice&password=***&sslmode=require"),
    ("host=db user=alice password=s3cret dbname=sales", "host=db user=alice password=*** dbname=sales"),
    ("host=db password='with space' dbname=sales", "host=db password=*** dbname=sales"),
    ("postgresql://db/sales", "postgresql://db/sales"),
])
def test_every_dsn_form_is_masked(dsn, masked):
    from analytics_assets.secrets import mask_url

    assert mask_url(dsn) == masked


def test_keyword_dsn_errors_hide_the_password():
    pg = PostgresResource(dsn="host=127.0.0.1 port=1 user=alice password=kw-secret dbname=x", connect_timeout_seconds=2)
    with pytest.raises(SettingError) as excinfo, pg.connect():
        pass
    assert "kw-secret" not in str(excinfo.value) and "password=***" in str(excinfo.value)
