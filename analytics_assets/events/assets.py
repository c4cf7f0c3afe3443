"""Product events from the landing folder, the funnels defined in YAML, and event retention."""

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Template

import dagster as dg

from analytics_assets.events.funnel_spec import FunnelSpec, load_funnels
from analytics_assets.events.load import EVENTS, EVENTS_FEED, ensure_tables
from analytics_assets.landing.assets import build_landing_asset, feed_days
from analytics_assets.logical_time import AS_OF_TAG, resolve_as_of
from analytics_assets.warehouse.columns import table_metadata
from analytics_assets.warehouse.day_range_asset import DayRangeTable, build_day_range_asset
from analytics_assets.warehouse.sql import load_sql
from analytics_assets.warehouse.sql_table_asset import Gate, SqlTable, build_days, build_sql_table_asset, unique_key

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
EVENTS_GROUP = "events"
EVENTS_DAYS = feed_days(EVENTS_FEED)


product_events = build_landing_asset(
    EVENTS_FEED, group=EVENTS_GROUP, ensure_tables=ensure_tables,
    description="Product events (event_time, event_name, user_id, session_id, customer_id, properties) from "
                "$ANALYTICS_DATA_DIR/landing/events (NDJSON/CSV, gzip optional), each file loaded once; bad rows go "
                "to product_events_quarantine. Daily partitions in ClickHouse; TTL: ANALYTICS_EVENTS_TTL_DAYS.",
    metadata=table_metadata(HERE / f"{EVENTS}.sql", HERE / "load.py"),
)


def funnel_gates() -> tuple[Gate, ...]:
    return (
        unique_key("date", "step"),
        Gate("steps_never_grow", "No step has more users than the step before it; rates are within [0, 1].",
             "SELECT countIf(conversion_rate > 1 OR conversion_rate < 0 OR ifNull(step_conversion_rate, 0) > 1), ''"
             " FROM $target"),
    )


def funnel_parameters(spec: FunnelSpec, first_day, last_day, as_of: datetime) -> dict:
    """The funnel SQL's parameters for days [first_day, last_day] as of `as_of`."""
    reach = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc) \
        + timedelta(milliseconds=spec.window_ms)
    return {
        "steps": list(spec.steps),
        "window_ms": spec.window_ms,
        "first_day": first_day,
        "last_day": last_day,
        "until": min(as_of, reach),
        "as_of": as_of,
        "filter_keys": [key for key, _ in spec.filters],
        "filter_values": [list(values) for _, values in spec.filters],
    }


def funnel_sql(steps: int) -> str:
    """funnel.sql with windowFunnel's conditions for `steps` steps (code-made: positions only, no
    user text; exactly as many conditions as steps, a third faster than a fixed 20)."""
    conditions = ",\n                ".join(
        ["step_index = 1 AND toDate(event_time) = day", *(f"step_index = {k}" for k in range(2, steps + 1))])
    return Template(load_sql(HERE / "funnel.sql")).safe_substitute(conditions=conditions)


def build_funnel(wh, spec: FunnelSpec, params: dict, results: list[dg.AssetCheckResult]) -> None:
    """Build, gate and swap in the days of `params` (raises GateFailed, keeping the old days)."""
    build_days(wh, spec.table, funnel_sql(len(spec.steps)), funnel_gates(), params, results)


def _funnel_summary(spec: FunnelSpec):
    def summary(wh, first_day, last_day, params: dict, context) -> dict:
        starts, ends = wh.rows(
            f"SELECT sumIf(users, step = 1), sumIf(users, step = {len(spec.steps)}) FROM {spec.table}"
            " WHERE date BETWEEN {a:Date} AND {b:Date}", {"a": first_day, "b": last_day})[0]
        return {"users_started": int(starts), "users_completed": int(ends),
                "conversion_rate": round(ends / starts, 4) if starts else None}

    return summary


def _funnel_as_of(spec: FunnelSpec):
    def as_of(context: dg.AssetExecutionContext) -> datetime:
        resolved = resolve_as_of(context)
        if AS_OF_TAG not in context.run.tags:  # a day's end by default: its funnels end with their window
            resolved += timedelta(milliseconds=spec.window_ms)
        return resolved

    return as_of


def build_funnel_asset(spec: FunnelSpec) -> dg.AssetsDefinition:
    filters = "; ".join(f"{key} in {', '.join(values)}" for key, values in spec.filters)
    return build_day_range_asset(DayRangeTable(
        name=spec.table,
        group=EVENTS_GROUP,
        deps=(EVENTS,),
        partitions_def=EVENTS_DAYS,
        description=(f"{spec.description or spec.name} Per day: users whose funnel started that day and reached each "
                     f"step ({' -> '.join(spec.steps)}) within {spec.window}"
                     f"{f' (events with {filters})' if filters else ''}, with windowFunnel. Defined in {spec.source}."),
        gates=funnel_gates(),
        metadata={"steps": " -> ".join(spec.steps), "window": spec.window, "definition": spec.source,
                  **table_metadata(HERE / "funnel.sql", spec.source)},
        sql=lambda: funnel_sql(len(spec.steps)),
        parameters=lambda first_day, last_day, as_of: funnel_parameters(spec, first_day, last_day, as_of),
        as_of=_funnel_as_of(spec),
        summary=_funnel_summary(spec),
        prepare=lambda wh: ensure_tables(wh, EVENTS_FEED.settings.ttl_days()),
    ))


def funnel_reach() -> timedelta:
    """How long before an event a funnel can start and still include it: the longest window."""
    specs, _ = load_funnels()
    return timedelta(milliseconds=max((s.window_ms for s in specs), default=0))


def funnel_assets(reserved: set[str]) -> list[dg.AssetsDefinition]:
    """An asset per valid funnel definition in the shipped folder and $ANALYTICS_FUNNELS_DIR. An
    invalid one is left out with a warning naming its file (`analytics-assets funnel validate`
    says what is wrong), rather than taking every other asset down with it."""
    specs, errors = load_funnels()
    for error in errors:
        log.warning("funnel definition left out: %s", error)
    assets = []
    for spec in specs:
        if spec.table in reserved:
            log.warning("funnel definition left out: %s: name: %s is already a table of ours", spec.source, spec.table)
        else:
            assets.append(build_funnel_asset(spec))
    return assets


product_event_retention = build_sql_table_asset(SqlTable(
    name="product_event_retention",
    description="Event users by first-seen week (Monday, UTC): active users and retention rate 0 to 12 weeks later, "
                "with retention().",
    sql_dir=HERE, group=EVENTS_GROUP, deps=(EVENTS,),
    prepare=lambda wh: ensure_tables(wh, EVENTS_FEED.settings.ttl_days()),
    gates=(
        unique_key("cohort_week", "weeks_since_first"),
        Gate("week_zero_is_everyone", "In its first week every cohort user is active (rate 1).",
             "SELECT countIf(weeks_since_first = 0 AND active_users != cohort_users), '' FROM $target"),
    ),
))
