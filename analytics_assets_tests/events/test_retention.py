"""Event retention by first-seen week equals a pandas computation on the same events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import dagster as dg
import pandas as pd

from analytics_assets.events.assets import product_event_retention, product_events
from analytics_assets.events.load import ensure_tables
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets_tests.web.conftest import check_results

AS_OF = datetime(2026, 11, 26, 15, tzinfo=timezone.utc)  # a Thursday: the current week is in progress


def test_retention_equals_pandas(clickhouse):
    rng = random.Random(5)
    start = AS_OF - timedelta(days=100)
    events = []
    for u in range(300):
        first = start + timedelta(seconds=rng.randint(0, 95 * 86400))
        for _ in range(rng.randint(1, 8)):  # returns at random, sometimes after the logical time
            events.append((first + timedelta(hours=rng.expovariate(1 / 400)), f"u{u}"))
    with clickhouse.get_client() as wh:
        ensure_tables(wh, 0)
        for month in sorted({t.strftime("%Y%m") for t, _ in events}):  # at most 100 daily partitions an insert
            wh.insert_rows("product_events", [(t, "view", u, "", None, {}, 1) for t, u in events
                                              if t.strftime("%Y%m") == month],
                           ["event_time", "event_name", "user_id", "session_id", "customer_id", "properties",
                            "source_file_id"])
    result = dg.materialize([product_events, product_event_retention], resources={"clickhouse": clickhouse},
                            selection=["product_event_retention"], tags={AS_OF_TAG: AS_OF.isoformat()})
    assert result.success and all(check_results(result).values())

    frame = pd.DataFrame(events, columns=["t", "user"])
    frame = frame[frame.t < AS_OF]
    frame["week"] = frame.t.dt.tz_convert(None).dt.normalize() - pd.to_timedelta(frame.t.dt.weekday, unit="D")
    frame["cohort"] = frame.groupby("user").week.transform("min")
    frame["since"] = (frame.week - frame.cohort).dt.days // 7
    active = frame[frame.since <= 12].groupby(["cohort", "since"]).user.nunique()
    sizes = frame.groupby("cohort").user.nunique()
    this_week = pd.Timestamp(AS_OF.date()) - pd.Timedelta(days=AS_OF.weekday())
    expected = []
    for cohort, size in sizes.items():
        for since in range(13):
            week = cohort + pd.Timedelta(weeks=since)
            if week > this_week:
                break
            users = int(active.get((cohort, since), 0))
            expected.append((cohort.date(), since, size, users, round(users / size, 9), week < this_week))
    with clickhouse.get_client() as wh:
        got = [(c, s, n, a, round(r, 9), bool(done)) for c, s, n, a, r, done in wh.rows(
            "SELECT cohort_week, weeks_since_first, cohort_users, active_users, retention_rate, is_complete"
            " FROM product_event_retention ORDER BY cohort_week, weeks_since_first")]
    assert got == expected
    assert len({r[0] for r in got}) >= 14 and any(0 < r[3] < r[2] for r in got if r[1] > 0)
