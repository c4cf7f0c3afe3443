"""The run's logical time: every window is computed from it, never from the wall clock.

Resolution order (DESIGN.md): run tag `analytics/as_of` (ISO-8601) -> partition (a time window's
end: the partition of 25 November is as of 26 November 00:00) or schedule tick ->
`$ANALYTICS_AS_OF` -> now, in UTC. A rerun or a backfill therefore gives the same answer.
"""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from analytics_assets import settings
from analytics_assets.settings import SettingError

AS_OF_TAG = "analytics/as_of"
# The tick a scheduled run was launched for, as the daemon tags it (a hidden tag in Dagster 1.13).
SCHEDULED_TAG = ".dagster/scheduled_execution_time"


def parse_as_of(value: str, *, source: str) -> datetime:
    """ISO-8601 date or datetime; naive means UTC. Errors name where the value came from."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SettingError(f"{source}: {value!r} is not an ISO-8601 date or datetime") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def resolve_as_of(context: dg.AssetExecutionContext | dg.OpExecutionContext | None = None) -> datetime:
    if context is not None:
        tags = context.run.tags if context.run else {}
        if AS_OF_TAG in tags:
            return parse_as_of(tags[AS_OF_TAG], source=f"run tag {AS_OF_TAG}")
        if _has_partitions(context):
            window = _time_window(context)
            if window is not None:  # a day's partition is as of the day's end
                return window.end.astimezone(timezone.utc)
            return parse_as_of(context.partition_key, source="partition key")
        if SCHEDULED_TAG in tags:
            return parse_as_of(tags[SCHEDULED_TAG], source=f"run tag {SCHEDULED_TAG}")
    env = settings.as_of()
    if env:
        return parse_as_of(env, source=settings.AS_OF)
    return datetime.now(timezone.utc)


def _has_partitions(context) -> bool:
    return context.has_partition_key or getattr(context, "has_partition_key_range", False)


def _time_window(context):
    try:
        return context.partition_time_window
    except Exception:  # not time-window partitioned
        return None
