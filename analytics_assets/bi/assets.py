"""The BI feeds (group `bi`, `bi_job`): `bi_` views, Parquet (and Tableau) extracts any tool can
read of the shipped marts and of every datamart, and Grafana provisioning, under
$ANALYTICS_DATA_DIR/bi/."""

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

from analytics_assets import settings
from analytics_assets.files import atomic_path
from analytics_assets.bi.grafana import DASHBOARDS, expand_macros, panel_sql, write_provisioning
from analytics_assets.resources import ClickHouseResource
from analytics_assets.resources.clickhouse import clickhouse_pool
from analytics_assets.sales.marts import MARTS
from analytics_assets.warehouse import registry
from analytics_assets.warehouse.guards import missing_table_message, require_complete
from analytics_assets.identifiers import quote_identifier

BI_GROUP = "bi"
# The shipped tables every bi_job feeds; build_bi_assets adds the datamarts.
EXTRACTED = [m.name for m in MARTS] + ["customer_segments", "customer_segment_summary"]


def bi_dir() -> Path:
    return settings.data_dir() / "bi"


# Power BI and Tableau's Hyper cannot read unsigned integers (UInt64 above all): the BI-facing views
# cast them to the signed type that holds them (counts never reach 2^63).
SIGNED = {"UInt8": "Int16", "UInt16": "Int32", "UInt32": "Int64", "UInt64": "Int64"}
# Hyper reads numerics of at most 18 digits, and ClickHouse's sum() of a Decimal(18, s) is a
# Decimal(38, s) (a datamart's revenue column): cast back; a value that does not fit fails the
# read (DECIMAL_OVERFLOW) rather than being rounded.
WIDE_DECIMAL = re.compile(r"^Decimal\((?P<precision>\d+), (?P<scale>\d+)\)$")
BI_MAX_DECIMAL_PRECISION = 18


def bi_view_name(table: str) -> str:
    return f"bi_{table}"


def bi_type(kind: str) -> str | None:
    """The type a BI view casts a column of ClickHouse type `kind` to, or None to keep it."""
    inner, nullable = kind, False
    while inner.startswith(("LowCardinality(", "Nullable(")):
        nullable = nullable or inner.startswith("Nullable(")
        inner = inner.split("(", 1)[1][:-1]
    target = SIGNED.get(inner)
    wide = WIDE_DECIMAL.match(inner)
    if wide and int(wide["precision"]) > BI_MAX_DECIMAL_PRECISION >= int(wide["scale"]):
        target = f"Decimal({BI_MAX_DECIMAL_PRECISION}, {wide['scale']})"
    if target is None:
        return None
    return f"Nullable({target})" if nullable else target


def bi_view_sql(wh, table: str) -> str:
    """`CREATE OR REPLACE VIEW bi_<table>`: the table's columns, unsigned integers cast to signed
    and wide decimals to 18 digits (bi_type), the same for the shipped marts and every datamart."""
    columns = wh.rows("SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}"
                      " ORDER BY position", {"db": wh.database, "t": table})
    if not columns:
        raise LookupError(f"table {table!r} not found in ClickHouse database {wh.database!r}")
    selected = []
    for name, kind in columns:
        column = quote_identifier(name)
        cast = bi_type(kind)
        selected.append(f"CAST({column} AS {cast}) AS {column}" if cast else column)
    return (f"CREATE OR REPLACE VIEW {quote_identifier(bi_view_name(table))} AS SELECT {', '.join(selected)}"
            f" FROM {quote_identifier(table, what='table')}")


def write_parquet(wh, table: str, path: Path) -> int:
    """`table` as `path` (types kept: Decimal stays decimal), written aside then renamed."""
    import pyarrow.parquet as pq  # half a second to import: only the step that writes Parquet

    data = wh.query_arrow(f"SELECT * FROM {quote_identifier(table, what='table')}")
    with atomic_path(path) as tmp:
        pq.write_table(data, tmp, compression="zstd")
    return data.num_rows


class ExtractConfig(dg.Config):
    csv: bool = False  # also bi/csv/<table>.csv, with a header line


def write_csv(wh, table: str, path: Path) -> None:
    """`table` as CSV with a header, from ClickHouse's own CSV writer, written aside then renamed."""
    data = wh.raw_query(f"SELECT * FROM {quote_identifier(table, what='table')}", fmt="CSVWithNames")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@dg.asset(group_name=BI_GROUP, deps=[m.name for m in MARTS] + ["website_metrics_hourly", "website_metrics_moving_average",
                                                             "website_metrics_anomalies", "customer_segment_summary",
                                                             "funnel_purchase", "product_event_retention"],
          kinds={"grafana"}, pool=clickhouse_pool(),
          description="Grafana provisioning (ClickHouse data source, dashboards) in $ANALYTICS_DATA_DIR/bi/grafana/; "
                      "every panel's SQL is run against the tables before the files are written.")
def grafana_provisioning(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
    from datetime import timedelta

    from analytics_assets.logical_time import resolve_as_of

    end = resolve_as_of(context)  # the panels are tried over the 30 days before the run's logical time
    failures, waiting = [], []
    with clickhouse.get_client() as wh:
        require_complete(wh, EXTRACTED)  # the marts and segments: a job run too early names what to run
        for _, panels in DASHBOARDS.values():
            for panel in panels:
                try:
                    wh.rows(expand_macros(panel_sql(panel), end - timedelta(days=30), end))
                except Exception as exc:  # the panel's name and the server's reason
                    # A table another job builds (the funnels before any event file landed) is not
                    # there yet: the panel is written and fills in once it is. Anything else is a bug.
                    reason = f"{panel.title}: {str(exc).splitlines()[0][:300]}"
                    if "UNKNOWN_TABLE" not in str(exc):
                        failures.append(reason)
                        continue
                    table = re.search(r"(?:identifier|Table \w+\.)\W?(\w+)", str(exc))
                    waiting.append(f"{panel.title}: {missing_table_message(wh, table[1])}" if table else reason)
    if failures:
        raise dg.Failure("Grafana panels whose SQL does not run: " + "; ".join(failures))
    for reason in waiting:
        context.log.warning(f"Grafana panel over a table not built yet: {reason}")
    files = write_provisioning(bi_dir() / "grafana")
    return dg.MaterializeResult(metadata={"files": "\n".join(str(f) for f in files),
                                          "panels": sum(len(p) for _, p in DASHBOARDS.values()),
                                          "panels_waiting_for_tables": "; ".join(waiting) or "none"})


BI_USER, BI_PASSWORD = settings.BI_USER, settings.BI_PASSWORD


def readonly_access_sql(database: str) -> list[str]:
    """The statements, with the password as its SHA-256 (never the password itself)."""
    import hashlib
    import string

    from analytics_assets.warehouse.sql import sql_file, statements

    password = settings.bi_password()
    digest = hashlib.sha256(password.encode()).hexdigest() if password else "0" * 64
    user = settings.bi_user()
    names = {"role": "analytics_bi_reader", "profile": "analytics_bi_profile", "user": user, "database": database}
    quoted = {k: quote_identifier(v, what=BI_USER if k == "user" else k) for k, v in names.items()}
    text = string.Template(sql_file(__file__, "bi_readonly_access")).substitute(**quoted, password_sha256=digest)
    sql = statements(text)
    if not settings.bi_read_landing_tables():  # right after the database-wide GRANT: a partial revoke
        grant = next(i for i, statement in enumerate(sql) if statement.startswith("GRANT SELECT"))
        sql[grant + 1:grant + 1] = [f"REVOKE SELECT ON {quoted['database']}.{quote_identifier(table)} FROM {quoted['role']}"
                                    for table in landing_tables()]
    return sql


def landing_tables() -> list[str]:
    """The landing registries and quarantines: file names and raw bad lines of whatever was
    dropped into a landing folder, kept from BI users unless ANALYTICS_BI_READ_LANDING_TABLES."""
    from analytics_assets.events.load import EVENTS_FEED
    from analytics_assets.web.load import WEB_FEED

    return [table for feed in (WEB_FEED, EVENTS_FEED) for table in (feed.files_table, feed.quarantine_table)]


@dg.asset(group_name=BI_GROUP, kinds={"clickhouse"}, pool=clickhouse_pool(),
          description="A read-only ClickHouse role and user for BI tools (ANALYTICS_BI_USER / ANALYTICS_BI_PASSWORD), "
                      "without the landing registries and quarantines unless ANALYTICS_BI_READ_LANDING_TABLES: "
                      "created on a server; for the embedded engine, written to bi/readonly_access.sql.")
def bi_readonly_access(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
    path = bi_dir() / "readonly_access.sql"
    with clickhouse.get_client() as wh:
        sql = readonly_access_sql(wh.database)
        for statement in sql:  # ClickHouse's parser accepts each one, whatever happens next
            wh.rows(f"EXPLAIN AST {statement}")
        if not wh.embedded:
            if not settings.bi_password():
                raise dg.Failure(f"{BI_PASSWORD} is not set: no password for the BI user")
            for statement in sql:
                wh.command(statement)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(";\n".join(sql) + ";\n", encoding="utf-8")
    return dg.MaterializeResult(metadata={"sql": dg.MetadataValue.path(str(path)),
                                          "executed": not wh.embedded})


def write_hyper(parquet: Path, path: Path) -> int:
    """A Tableau extract (`"Extract"."Extract"`) from a Parquet extract, written aside then renamed."""
    from tableauhyperapi import Connection, CreateMode, HyperProcess, Telemetry, escape_string_literal

    with atomic_path(path) as tmp, HyperProcess(telemetry=Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                                                parameters={"log_dir": str(path.parent)}) as hyper:
        with Connection(hyper.endpoint, str(tmp), CreateMode.CREATE_AND_REPLACE) as conn:
            conn.execute_command('CREATE SCHEMA "Extract"')
            conn.execute_command('CREATE TABLE "Extract"."Extract" AS (SELECT * FROM external('
                                 f"{escape_string_literal(str(parquet))}))")
            rows = conn.execute_scalar_query('SELECT count(*) FROM "Extract"."Extract"')
    return int(rows)


def tableau_available() -> bool:
    try:
        import tableauhyperapi  # noqa: F401
    except ImportError:
        return False
    return True


def fed(tables: Sequence[str], datamarts: Sequence[str], exists: Callable[[str], bool]
        ) -> tuple[list[str], list[str]]:
    """(tables to feed, datamarts waiting): every shipped table (missing: the feed fails on it),
    and the datamarts for which `exists(datamart)`; the others are not built yet (a new spec
    before its first refresh) and wait for the next run rather than fail the feeds of the rest."""
    ready = [t for t in datamarts if exists(t)]
    return [*tables, *ready], [t for t in datamarts if t not in ready]


def feed_each(tables: Sequence[str], write: Callable[[str], object], what: str) -> dict[str, object]:
    """`write(table)` for every table, all of them tried; then one error naming each that failed."""
    counts, failures = {}, []
    for table in tables:
        try:
            counts[table] = write(table)
        except Exception as exc:  # the table and the reason; the others are written
            failures.append(f"{table}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__}")
    if failures:
        raise dg.Failure(f"{what} not written for " + "; ".join(failures))
    return counts


def build_bi_assets(datamarts: Sequence[str] = ()) -> list[dg.AssetsDefinition]:
    """The BI feed assets over the shipped marts and `datamarts` (every datamart of the code
    location): the same bi_ view (unsigned integers cast), Parquet and .hyper for each."""
    datamarts = [t for t in datamarts if t not in EXTRACTED]
    tables = [*EXTRACTED, *datamarts]

    @dg.asset(name="bi_views", group_name=BI_GROUP, deps=tables, kinds={"clickhouse", "view"}, pool=clickhouse_pool(),
              description="bi_<table> views of the marts, segment tables and datamarts for Power BI, Tableau and the "
                          "extracts: unsigned integers cast to signed types those tools read.")
    def bi_views(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource):
        with clickhouse.get_client() as wh:
            require_complete(wh, EXTRACTED)  # a mart never built: name it and its job
            ready, waiting = fed(EXTRACTED, datamarts, wh.table_exists)
            feed_each(ready, lambda table: wh.command(bi_view_sql(wh, table)), "bi_ views")
        for table in waiting:
            context.log.warning(f"datamart {table} is not built yet: no bi_{table} view until it is")
        return dg.MaterializeResult(metadata={"views": ", ".join(bi_view_name(t) for t in ready),
                                              "datamarts_not_built_yet": ", ".join(waiting) or "none"})

    @dg.asset(name="bi_parquet_extracts", group_name=BI_GROUP, deps=[bi_views], kinds={"parquet"},
              pool=clickhouse_pool(),
              description="A Parquet file per dashboard mart, segment table and datamart (from its bi_ view) in "
                          "$ANALYTICS_DATA_DIR/bi/parquet/.")
    def bi_parquet_extracts(context: dg.AssetExecutionContext, clickhouse: ClickHouseResource, config: ExtractConfig):
        started = time.monotonic()
        folder = bi_dir() / "parquet"
        with clickhouse.get_client() as wh:
            ready, waiting = fed(EXTRACTED, datamarts, lambda t: wh.table_exists(bi_view_name(t)))

            def write(table: str) -> int:
                rows = write_parquet(wh, bi_view_name(table), folder / f"{table}.parquet")
                if config.csv:
                    write_csv(wh, bi_view_name(table), bi_dir() / "csv" / f"{table}.csv")
                return rows

            counts = feed_each(ready, write, "Parquet extracts")
        return dg.MaterializeResult(metadata={"folder": dg.MetadataValue.path(str(folder)),
                                              "duration_s": round(time.monotonic() - started, 3),
                                              "datamarts_not_built_yet": ", ".join(waiting) or "none",
                                              **{f"rows_{t}": n for t, n in counts.items()}})

    @dg.asset(name="bi_tableau_extracts", group_name=BI_GROUP, deps=[bi_parquet_extracts], kinds={"tableau"},
              description="Tableau .hyper extracts of the Parquet extracts in $ANALYTICS_DATA_DIR/bi/tableau/ "
                          "(the tableau extra: pip install '.[tableau]').")
    def bi_tableau_extracts(context: dg.AssetExecutionContext):
        folder = bi_dir() / "tableau"
        folder.mkdir(parents=True, exist_ok=True)
        parquet = bi_dir() / "parquet"
        ready, waiting = fed(EXTRACTED, datamarts, lambda t: (parquet / f"{t}.parquet").exists())
        try:
            counts = feed_each(ready, lambda t: write_hyper(parquet / f"{t}.parquet", folder / f"{t}.hyper"),
                               "Tableau extracts")
        finally:
            for log in folder.glob("hyperd*.log"):
                log.unlink()
        return dg.MaterializeResult(metadata={"folder": dg.MetadataValue.path(str(folder)),
                                              "datamarts_not_built_yet": ", ".join(waiting) or "none",
                                              **{f"rows_{t}": n for t, n in counts.items()}})

    # The Tableau extracts exist where the optional extra is installed.
    return [bi_views, bi_parquet_extracts, grafana_provisioning, bi_readonly_access,
            *([bi_tableau_extracts] if tableau_available() else [])]


# Asset names of the group: no funnel or datamart may take one (claimed before those are defined).
BI_ASSET_NAMES = ("bi_views", "bi_parquet_extracts", "grafana_provisioning", "bi_readonly_access", "bi_tableau_extracts")
registry.claim("bi", internal=BI_ASSET_NAMES)
# Over the shipped tables alone (bi/definitions.py builds them over every datamart too).
bi_assets = build_bi_assets()
bi_views, bi_parquet_extracts = bi_assets[0], bi_assets[1]
bi_tableau_extracts = bi_assets[-1] if tableau_available() else None
