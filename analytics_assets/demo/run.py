"""`analytics-assets demo`: the whole pipeline on the embedded defaults, in one command.

Starts the local PostgreSQL, fills it with demo data once (later runs add an hour of activity,
so a second demo shows the incremental path), materializes every asset and check through
Dagster into a local instance, and prints what it built and how to open the UI.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from analytics_assets import settings


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _source_sales(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        exists = conn.execute("SELECT to_regclass('public.sales') IS NOT NULL").fetchone()[0]
        return conn.execute("SELECT count(*) FROM sales").fetchone()[0] if exists else 0


def _source_customers(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM customers").fetchone()[0]


def run_demo(*, sales: int, customers: int | None, products: int, seed: int,
             regenerate: bool = False, dirty: bool = False) -> int:
    from analytics_assets.demo import generator
    from analytics_assets.resources.local_postgres import default_local_postgres

    started = time.monotonic()
    data = settings.data_dir()
    say(f"data directory: {data}")
    say("starting the local PostgreSQL ...")
    dsn = default_local_postgres().start()
    say(f"PostgreSQL: {dsn}")
    os.environ[settings.POSTGRES_DSN] = dsn

    existing = _source_sales(dsn)
    full_resync = regenerate or existing == 0
    if full_resync:
        n_customers = customers or max(100, sales // 20)
        as_of = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        say(f"generating {sales:,} sales, {n_customers:,} customers, {products:,} products (seed {seed}) ...")
        result = generator.generate(dsn, customers=n_customers, products=products, sales=sales, seed=seed,
                                    as_of=as_of, dirty=dirty, progress=say)
        say(f"generated in {result.seconds:.1f} s")
    else:
        say(f"source already has {existing:,} sales: adding up to an hour of activity, never past now "
            "(--regenerate starts over)")
        try:
            activity = generator.apply_activity(dsn, seed=seed, progress=say)
            as_of = activity.window_end
            say(f"{activity.new_sales:,} new sales, {activity.status_changes:,} status changes")
        except ValueError as exc:  # the data already reaches the wall clock
            say(str(exc))
            as_of = datetime.now(timezone.utc).replace(microsecond=0)

    new_history = _drop_landing_files(as_of, _source_customers(dsn))

    home = settings.use_project_instance()
    # The data's own "now" is the logical time: the marts' windows end where the data does.
    _materialize_everything(full_resync, as_of, new_history)
    _print_summary(dsn, home, time.monotonic() - started)
    return 0


def _drop_landing_files(as_of: datetime, customers: int) -> set[str]:
    """Web metric and product event files into their landing folders, as live producers would:
    history the first time (400 days of metrics, 90 of events), then a file per whole hour since
    the last run. Files never run ahead of the wall clock (a point in the future is refused), even
    when the source's activity hours do; a hidden marker remembers how far the files go."""
    from datetime import timedelta

    from analytics_assets.demo import event_files, web_files
    from analytics_assets.landing.files import list_landing_files

    feeds = {
        "web": ("400 days of website metric files", lambda folder, t: web_files.write_history(folder, as_of=t),
                lambda folder, hour: web_files.write_hour(folder, hour, as_of=hour + timedelta(hours=1))),
        "events": ("90 days of product event files",
                   lambda folder, t: event_files.write_history(folder, as_of=t, customers=customers),
                   lambda folder, hour: event_files.write_hour(folder, hour, customers=customers)),
    }
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    history_days = {settings.WEB.kind: (settings.WEB, 400), settings.EVENTS.kind: (settings.EVENTS, 90)}
    new_history = set()
    for kind, (history, write_history, write_hour) in feeds.items():
        folder = settings.landing_dir(kind)
        marker = folder / ".demo-files-until"
        if not list_landing_files(folder):
            until = min(as_of.replace(minute=0, second=0, microsecond=0), now)
            say(f"writing {history} into {folder} ...")
            say(f"{len(write_history(folder, until))} files")
            feed, days = history_days[kind]  # the daily partitions start with the history
            _record_first_day(feed.variable("START_DATE"), (until - timedelta(days=days)).date().isoformat())
            new_history.add(kind)
        elif not marker.exists():  # files from elsewhere: new ones from the next whole hour on
            until = now
        else:
            until = datetime.fromisoformat(marker.read_text().strip())
            hours = []
            while until + timedelta(hours=1) <= now and len(hours) < 48:
                hours.append(write_hour(folder, until).name)
                until += timedelta(hours=1)
            say(f"dropped {', '.join(hours)} into {folder}" if hours
                else f"no whole hour since the last files in {folder}")
        marker.write_text(until.isoformat())
    return new_history


def _record_first_day(variable: str, day: str) -> None:
    """settings.first_days_file: the partitions of every process on this data directory start there."""
    import json

    path = settings.first_days_file()
    days = json.loads(path.read_text()) if path.exists() else {}
    days[variable] = day
    path.write_text(json.dumps(days, indent=1) + "\n")


def _materialize_everything(full_resync: bool, as_of: datetime, new_history: set[str]) -> None:
    """Every asset and check through Dagster: events_job (new event files, the funnels of every
    day of a new history, else of yesterday and today; retention), the unpartitioned graph in one
    run (customer_360 then sees the events), web_analytics_job (new metric files, the web analyses
    likewise), the monthly report, and the BI feeds. Every partition of the data is then built."""
    from datetime import timedelta

    import dagster as dg

    from analytics_assets.definitions import defs
    from analytics_assets.ingest.sources import SOURCE_TABLES
    from analytics_assets.logical_time import AS_OF_TAG
    from analytics_assets.bi.assets import BI_GROUP
    from analytics_assets.reports.assets import REPORTS_GROUP
    from analytics_assets.reports.schedules import last_complete_period
    from analytics_assets.events.assets import EVENTS_GROUP
    from analytics_assets.web.analyses import WEB_GROUP

    graph = defs.resolve_asset_graph()
    keys = (dg.AssetSelection.all() - dg.AssetSelection.groups(WEB_GROUP, EVENTS_GROUP, REPORTS_GROUP, BI_GROUP)
            ).resolve(graph)
    ops = {t.replica: {"config": {"full_resync": True}} for t in SOURCE_TABLES} if full_resync else {}
    logging = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    tags = {"analytics/trigger": "demo", AS_OF_TAG: as_of.isoformat()}
    say(f"materializing every asset and check through Dagster (logical time {as_of.isoformat()}) ...")
    def days(kind: str, start: str) -> dict:
        first = start if kind in new_history else max(start, (as_of - timedelta(days=1)).date().isoformat())
        return {"dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": as_of.date().isoformat()}
    with dg.DagsterInstance.get() as instance:
        events = defs.resolve_job_def("events_job").execute_in_process(
            instance=instance, run_config=logging, raise_on_error=False,
            tags={**tags, **days("events", settings.EVENTS.start_date())})
        main = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=list(keys), run_config={"ops": ops, **logging}, tags=tags,
            raise_on_error=False)
        web = defs.resolve_job_def("web_analytics_job").execute_in_process(
            instance=instance, run_config=logging, raise_on_error=False,
            tags={**tags, **days("web", settings.WEB.start_date())})
        # The original Airflow examples' monthly report for the last complete month (mailed only if SMTP is set up).
        from analytics_assets.reports.definitions import report_specs

        spec = next(s for s in report_specs if s.name == "monthly_sales_summary")
        month = last_complete_period(spec, as_of.date()).isoformat()
        selection = [spec.name] + ([f"{spec.name}_delivery"] if settings.smtp_configured() else [])
        report = defs.resolve_job_def(f"{spec.name}_job").execute_in_process(
            instance=instance, partition_key=month, run_config=logging, raise_on_error=False, tags=tags,
            asset_selection=[dg.AssetKey(k) for k in selection])
        # Last, the BI feeds over everything above (Grafana's panels read the web tables too).
        bi = defs.resolve_job_def("bi_job").execute_in_process(instance=instance, run_config=logging,
                                                                raise_on_error=False, tags=tags)
    failures = 0
    for label, result in (("events_job", events), ("every other asset", main), ("web_analytics_job", web), (f"report {month}", report),
                          ("bi_job", bi)):
        checks = [e.asset_check_evaluation_data for e in result.all_events
                  if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        failed = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed]
        say(f"run {result.run_id} ({label}): {'succeeded' if result.success else 'FAILED'}; "
            f"{len(checks) - len(failed)}/{len(checks)} checks passed"
            + (f" (not passed: {', '.join(sorted(failed))})" if failed else ""))
        failures += not result.success
    if failures:
        raise SystemExit(1)


def _print_summary(dsn: str, home: Path, seconds: float) -> None:
    import psycopg
    from psycopg import sql

    from analytics_assets.ingest.sources import SOURCE_TABLES
    from analytics_assets.resources import ClickHouseResource

    clickhouse = ClickHouseResource()
    with clickhouse.get_client() as wh:
        tables = wh.rows(
            "SELECT name, engine FROM system.tables WHERE database = {db:String}"
            " AND NOT startsWith(name, '_') AND engine != 'MaterializedView' ORDER BY name",
            {"db": wh.database},
        )
        counts = {name: wh.row_count(name, final=engine.startswith("Replacing")) for name, engine in tables}
    with psycopg.connect(dsn) as conn:
        source = {
            t.replica: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t.name))).fetchone()[0]
            for t in SOURCE_TABLES
        }
    print()
    print(f"ClickHouse ({clickhouse.resolved_dsn()}, database {clickhouse.resolved_database()}):")
    for name, _ in tables:
        note = ""
        if name in source:
            note = "  = source" if source[name] == counts[name] else f"  != source ({source[name]:,})"
        print(f"  {name:<40} {counts[name]:>12,} rows{note}")
    files = sorted([*settings.report_output_dir().rglob("*.xlsx"), *settings.exports_dir().glob("*.xlsx")])
    if files:
        print()
        print("Files:")
        for path in files:
            print(f"  {path}")
    print()
    print(f"Done in {seconds:.0f} s. Open the Dagster UI on the same instance ({home}) with:")
    print("  .venv/bin/analytics-assets dev")
    print("then http://127.0.0.1:3000 (asset graph, runs, checks, schedules); Ctrl-C stops it.")
    print('For dagster ... commands on this instance, first: eval "$(.venv/bin/analytics-assets env)"')
