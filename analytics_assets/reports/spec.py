"""Report definitions: the original Airflow examples' Example 5 fields, as YAML files, validated field by field.

`date_range` decides the report's period, and so its Dagster partitions: `previous_month` is
monthly (the run on 1 November builds October), `previous_week` weekly (Monday to Sunday),
`previous_day`, `last_7_days` and `month_to_date` daily (the period ends with the partition's
day), and absolute dates one fixed period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path


from analytics_assets.spec_files import FieldReader, SpecFileError, load_spec_file, load_spec_folders

RELATIVE_RANGES = ("previous_month", "previous_week", "previous_day", "last_7_days", "month_to_date")
FORMATS = ("excel", "csv")
DELIVERY = ("email", "none")
FIELDS = ("name", "report_type", "date_range", "filters", "include_charts", "include_summary", "format", "schedule",
          "recipients", "delivery_method", "description")
EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$")


@dataclass(frozen=True)
class ReportSpec:
    name: str
    report_type: str = "sales_summary"
    date_range: str = "previous_month"
    start_date: date | None = None  # absolute ranges only (end inclusive)
    end_date: date | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    include_charts: bool = True
    include_summary: bool = True
    format: str = "excel"
    schedule: str = "0 8 1 * *"
    recipients: tuple[str, ...] = ()
    delivery_method: str = "email"
    description: str = ""
    source: str = ""

    @property
    def cadence(self) -> str:
        """monthly | weekly | daily | fixed: the kind of period (and partition) the report has."""
        return {"previous_month": "monthly", "previous_week": "weekly", "previous_day": "daily",
                "last_7_days": "daily", "month_to_date": "daily"}.get(self.date_range, "fixed")

    @property
    def extension(self) -> str:
        return "xlsx" if self.format == "excel" else "csv"


class ReportSpecError(SpecFileError):
    """Everything wrong with one report definition."""


def parse_report(data, *, source: str) -> ReportSpec:
    reader = FieldReader(data, source=source, known=FIELDS, error=ReportSpecError)
    problems = reader.problems

    name = reader.identifier("name")
    from analytics_assets.reports.types import REPORT_TYPES  # the types import this module

    report_type = reader.choice("report_type", tuple(REPORT_TYPES), "sales_summary")
    start = end = None
    date_range = data.get("date_range", "previous_month")
    if isinstance(date_range, dict):
        start, end = _absolute(date_range, problems)
        date_range = "absolute"
    elif date_range not in RELATIVE_RANGES:
        problems.append(("date_range", f"{date_range!r} is not one of {', '.join(RELATIVE_RANGES)} "
                                       "nor {start_date: YYYY-MM-DD, end_date: YYYY-MM-DD}"))
        date_range = "previous_month"
    known_filters = REPORT_TYPES[report_type].filters if report_type in REPORT_TYPES else ()
    filters = _filters(data.get("filters"), problems, known_filters, report_type)
    fmt = reader.choice("format", FORMATS, "excel")
    schedule = reader.cron("schedule", data.get("schedule", "0 8 1 * *"))
    delivery = reader.choice("delivery_method", DELIVERY, "email")
    recipients = data.get("recipients") or []
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list) or not all(isinstance(r, str) and EMAIL.match(r) for r in recipients):
        bad = [r for r in (recipients if isinstance(recipients, list) else [recipients])
               if not (isinstance(r, str) and EMAIL.match(r))]
        problems.append(("recipients", f"not e-mail addresses: {bad!r}"))
        recipients = []
    if delivery == "email" and not recipients and not any(f == "recipients" for f, _ in problems):
        problems.append(("recipients", "at least one address is needed for delivery_method email"))
    description = data.get("description") or ""
    if not isinstance(description, str):
        problems.append(("description", "must be a string"))
    include_charts, include_summary = reader.flag("include_charts", True), reader.flag("include_summary", True)
    if problems:
        raise ReportSpecError(source, problems)
    return ReportSpec(name=name, report_type=report_type, date_range=date_range, start_date=start, end_date=end,
                      filters=filters, include_charts=include_charts, include_summary=include_summary, format=fmt,
                      schedule=schedule, recipients=tuple(recipients), delivery_method=delivery,
                      description=description, source=source)


def _absolute(value: dict, problems) -> tuple[date | None, date | None]:
    if set(value) != {"start_date", "end_date"}:
        problems.append(("date_range", "an absolute range has exactly start_date and end_date"))
        return None, None
    try:
        start, end = (d if isinstance(d, date) else date.fromisoformat(str(d))
                      for d in (value["start_date"], value["end_date"]))
    except ValueError:
        problems.append(("date_range", "start_date and end_date must be YYYY-MM-DD"))
        return None, None
    if start > end:
        problems.append(("date_range", f"start_date {start} is after end_date {end}"))
    return start, end


def _filters(value, problems, known: tuple[str, ...], report_type: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(("filters", f"must be a mapping of {', '.join(known)} to lists of values"))
        return {}
    found = {}
    for key, values in value.items():
        if key not in known:
            problems.append((f"filters.{key}", f"unknown filter for {report_type} (known: {', '.join(known) or 'none'})"))
            continue
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and 0 < len(v) <= 200
                                                                 for v in values):
            problems.append((f"filters.{key}", "must be a non-empty list of values (strings up to 200 characters)"))
            continue
        found[key] = tuple(values)
    return found


def load_report(path: Path) -> ReportSpec:
    return load_spec_file(path, parse_report, ReportSpecError)


def load_reports(folders: list[Path]) -> tuple[list[ReportSpec], list[ReportSpecError]]:
    return load_spec_folders(folders, load_report, ReportSpecError)


def period_of(spec: ReportSpec, key: str | None) -> tuple[date, date, str]:
    """(first day, last day, label) of the period a partition key stands for."""
    if spec.cadence == "fixed":
        return spec.start_date, spec.end_date, f"{spec.start_date}_{spec.end_date}"
    day = date.fromisoformat(key)
    if spec.cadence == "monthly":
        nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        return day, nxt - timedelta(days=1), f"{day:%Y-%m}"
    if spec.cadence == "weekly":
        return day, day + timedelta(days=6), f"{day.isocalendar().year}-W{day.isocalendar().week:02d}"
    if spec.date_range == "last_7_days":
        return day - timedelta(days=6), day, f"{day}"
    if spec.date_range == "month_to_date":
        return day.replace(day=1), day, f"{day}"
    return day, day, f"{day}"


def previous_period(first: date, last: date, spec: ReportSpec) -> tuple[date, date]:
    """The period the KPIs are compared with: the month before, or as many days before."""
    if spec.cadence == "monthly" or (spec.date_range == "month_to_date"):
        prev_last = first - timedelta(days=1)
        prev_first = prev_last.replace(day=1)
        if spec.date_range == "month_to_date":  # the same days of the previous month
            prev_last = min(prev_first + (last - first), prev_last)
        return prev_first, prev_last
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)
