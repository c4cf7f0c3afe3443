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
    from analytics_assets.reports.assets import build_report_file, deliver_report, report_folders
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
    with ClickHouseResource().get_client() as wh:
        path, summary = build_report_file(wh, spec, key)
        print(f"wrote {path} ({summary.first_day} .. {summary.last_day})")
        if args.deliver:
            smtp = SmtpResource.from_env()
            for d in deliver_report(wh, smtp, spec, key):
                print(f"  {d.recipient}: {d.status} (attempt {d.attempts})")
    return 0


def add_commands(sub) -> None:
    report = sub.add_parser("report", help="build (and mail) one report period on demand")
    actions = report.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="build one period's file; --deliver mails it")
    run.add_argument("name")
    run.add_argument("--period", help="2026-10 (monthly), 2026-W44 (weekly), 2026-10-31 (daily)")
    run.add_argument("--deliver", action="store_true", help="mail it (once per recipient) through ANALYTICS_SMTP_*")
    run.set_defaults(func=cmd_run)
