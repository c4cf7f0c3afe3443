"""`analytics-assets report run NAME --period P [--deliver]`: one period on demand, through the
same code as the assets (and the same delivery log: a period already mailed is not mailed again)."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date


def partition_key(spec, period: str | None) -> str | None:
    """The partition key for a period as people write it: 2026-10 (monthly), 2026-W44 or the
    Monday's date (weekly), 2026-10-31 (daily); nothing for a fixed range."""
    if spec.cadence == "fixed":
        return None
    if not period:
        raise ValueError(f"--period: {spec.name} is {spec.cadence}: say which period")
    if spec.cadence == "monthly" and re.fullmatch(r"\d{4}-\d{2}", period):
        return date.fromisoformat(period + "-01").isoformat()
    week = re.fullmatch(r"(\d{4})-W(\d{2})", period)
    if spec.cadence == "weekly" and week:
        return date.fromisocalendar(int(week[1]), int(week[2]), 1).isoformat()
    try:
        day = date.fromisoformat(period)
    except ValueError:
        raise ValueError(f"--period: {period!r} is not a {spec.cadence} period (e.g. "
                         f"{ {'monthly': '2026-10', 'weekly': '2026-W44', 'daily': '2026-10-31'}[spec.cadence] })") from None
    if spec.cadence == "monthly":
        return day.replace(day=1).isoformat()
    if spec.cadence == "weekly" and day.isoweekday() != 1:
        raise ValueError(f"--period: {period} is not a Monday (weeks run Monday to Sunday)")
    return day.isoformat()


def cmd_run(args: argparse.Namespace) -> int:
    """Through Dagster on the project's instance (settings.use_project_instance), like a run from the
    UI: the partition's materialization (and delivery) is recorded, and shows in the UI."""
    import dagster as dg

    from analytics_assets import settings
    from analytics_assets.reports.assets import build_report_assets, report_folders
    from analytics_assets.reports.spec import load_reports
    from analytics_assets.resources import ClickHouseResource
    from analytics_assets.resources.smtp import SmtpResource

    specs, errors = load_reports(report_folders())
    spec = next((s for s in specs if s.name == args.name), None)
    if spec is None:
        problems = [str(e) for e in errors if e.source.endswith(f"{args.name}.yaml")]
        print(f"error: no valid report named {args.name!r}" + (f": {problems[0]}" if problems else ""),
              file=sys.stderr)
        return 1
    key = partition_key(spec, args.period)
    if args.deliver and spec.delivery_method != "email":
        raise ValueError(f"--deliver: {spec.name} has no e-mail delivery")
    if args.deliver and not settings.smtp_configured():
        raise ValueError(f"--deliver: {settings.SMTP['host']} is unset: no mail server to deliver through")
    assets = build_report_assets(spec, retries=None)  # on the command line a refused mail is reported at once
    selection = [spec.name] + ([f"{spec.name}_delivery"] if args.deliver else [])
    settings.use_project_instance()
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            assets, instance=instance, partition_key=key, raise_on_error=False, selection=selection,
            resources={"clickhouse": ClickHouseResource(), "smtp": SmtpResource.from_env()},
            tags={"analytics/trigger": "analytics-assets report run"},
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
    materialized = {e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
                    for e in result.get_asset_materialization_events()}
    if spec.name in materialized:
        meta = materialized[spec.name]
        print(f"wrote {meta['path'].value} ({meta['period'].value}); run {result.run_id}")
    for recipient, status in materialized.get(f"{spec.name}_delivery", {}).items():
        print(f"  {recipient}: {status.value}")
    if not result.success:
        print(f"error: {_failure(result)} (run {result.run_id})", file=sys.stderr)
        return 2
    return 0


def _failure(result) -> str:
    """The first failed step's own message, without Dagster's wrapping or a stack trace."""
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    if failure.user_failure_data and failure.user_failure_data.description:
        return failure.user_failure_data.description.strip()
    error = failure.error.cause or failure.error
    message = error.message.strip()
    head, _, rest = message.partition(": ")
    return rest if rest and re.fullmatch(r"[\w.]+", head) else message


def add_commands(sub) -> None:
    report = sub.add_parser("report", help="build (and mail) one report period on demand")
    actions = report.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="build one period's file; --deliver mails it")
    run.add_argument("name")
    run.add_argument("--period", help="2026-10 (monthly), 2026-W44 (weekly), 2026-10-31 (daily)")
    run.add_argument("--deliver", action="store_true", help="mail it (once per recipient) through ANALYTICS_SMTP_*")
    run.set_defaults(func=cmd_run)
