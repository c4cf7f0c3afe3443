"""Funnels: definitions validated field by field, and the numbers equal a brute-force Python
computation on the same events (ties, windows across midnight, filters, a day in progress)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from analytics_assets.events.assets import build_funnel_asset, product_events
from analytics_assets.events.funnel_spec import FunnelSpecError, load_funnels, parse_funnel
from analytics_assets.events.load import ensure_tables
from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets_tests.web.conftest import check_results

STEPS = ("view", "add_to_cart", "checkout", "purchase")
DAY0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


def random_events(seed: int, users: int = 60) -> list[tuple[datetime, str, str, str]]:
    """(time, event, user, platform): sessions around the midnights of three days, in steps that
    go forward, backward, repeat, tie to the millisecond, and stray past the window."""
    rng = random.Random(seed)
    events = []
    for u in range(users):
        user = f"u{u}"
        platform = rng.choice(["web", "ios"])
        for _ in range(rng.randint(1, 4)):
            t = DAY0 + timedelta(days=rng.randint(0, 2), hours=rng.choice([0, 10, 23]), minutes=rng.randint(0, 59),
                                 milliseconds=rng.randint(0, 999))
            step = 0
            for _ in range(rng.randint(1, 6)):
                if rng.random() < 0.6:  # mostly the funnel's order, sometimes anything
                    name, step = STEPS[min(step, 3)], step + 1
                else:
                    name = rng.choice(STEPS + ("other",))
                events.append((t, name, user, platform if rng.random() < 0.9 else "android"))
                t += timedelta(milliseconds=rng.choice([0, 1, 500, 60_000, 20 * 60_000, 50 * 60_000]))
    return events


def brute_force(events, steps, window, first_day: date, last_day: date, until: datetime, platforms=None):
    """Per day: users with a first step that day, and how many reached each step: from a start,
    the earliest next step at or after the previous one, all within the window of the start."""
    kept = [e for e in events if DAY0 <= e[0] < until and (platforms is None or e[3] in platforms)
            and e[0] >= datetime.combine(first_day, datetime.min.time(), tzinfo=timezone.utc)]
    by_user = defaultdict(list)
    for t, name, user, _ in kept:
        by_user[user].append((t, name))
    levels = defaultdict(int)
    for user, evs in by_user.items():
        evs.sort()
        for start, name in evs:
            if name != steps[0] or not first_day <= start.date() <= last_day:
                continue
            level, last = 1, start
            for step in steps[1:]:
                nxt = [t for t, n in evs if n == step and last <= t <= start + window]
                if not nxt:
                    break
                level, last = level + 1, min(nxt)
            key = (start.date(), user)
            levels[key] = max(levels[key], level)
    table = []
    for day in sorted({d for d, _ in levels}):
        reached = [sum(1 for (d, _), lv in levels.items() if d == day and lv >= k) for k in range(1, len(steps) + 1)]
        for k, users in enumerate(reached, 1):
            table.append((day, k, steps[k - 1], users, users / reached[0],
                          1.0 if k == 1 else (users / reached[k - 2] if reached[k - 2] else None)))
    return table


def materialize_funnel(clickhouse, spec, events, first: str, last: str, as_of: datetime):
    with clickhouse.get_client() as wh:
        ensure_tables(wh, 0)
        wh.insert_rows("product_events", [(t, n, u, "", None, {"platform": p}, 1) for t, n, u, p in events],
                       ["event_time", "event_name", "user_id", "session_id", "customer_id", "properties",
                        "source_file_id"])
    result = dg.materialize(
        [product_events, build_funnel_asset(spec)], resources={"clickhouse": clickhouse},
        selection=[spec.table], tags={"dagster/asset_partition_range_start": first,
                                      "dagster/asset_partition_range_end": last, AS_OF_TAG: as_of.isoformat()})
    assert result.success and all(check_results(result).values())
    with clickhouse.get_client() as wh:
        return [(d, s, n, u, round(c, 9), None if sc is None else round(sc, 9)) for d, s, n, u, c, sc in wh.rows(
            f"SELECT date, step, step_name, users, conversion_rate, step_conversion_rate FROM {spec.table}"
            " ORDER BY date, step")]


def rounded(table):
    return [(d, s, n, u, round(c, 9), None if sc is None else round(sc, 9)) for d, s, n, u, c, sc in table]


@pytest.mark.parametrize("seed", [1, 2])
def test_funnel_numbers_equal_a_brute_force_count(clickhouse, seed):
    events = random_events(seed)
    spec = parse_funnel({"name": "purchase", "steps": list(STEPS), "window": "1h"}, source="test")
    as_of = datetime(2026, 11, 25, tzinfo=timezone.utc)
    got = materialize_funnel(clickhouse, spec, events, "2026-11-20", "2026-11-22", as_of)
    expected = rounded(brute_force(events, STEPS, timedelta(hours=1), date(2026, 11, 20), date(2026, 11, 22), as_of))
    assert got == expected and len({r[0] for r in got}) == 3
    assert any(r[3] for r in got if r[1] == 4)  # some users went all the way


def test_filters_a_shorter_window_and_a_day_in_progress(clickhouse):
    events = random_events(3)
    spec = parse_funnel({"name": "web_cart", "steps": ["view", "add_to_cart", "checkout"], "window": "30m",
                         "filters": {"platform": "web"}}, source="test")
    as_of = datetime(2026, 11, 21, 10, 30, tzinfo=timezone.utc)  # the 21st is in progress
    got = materialize_funnel(clickhouse, spec, events, "2026-11-21", "2026-11-21", as_of)
    expected = rounded(brute_force(events, spec.steps, timedelta(minutes=30), date(2026, 11, 21), date(2026, 11, 21),
                                   as_of, platforms={"web"}))
    assert got == expected and got


def test_a_rebuilt_day_replaces_only_itself(clickhouse):
    events = random_events(4)
    spec = parse_funnel({"name": "purchase", "steps": list(STEPS), "window": "1h"}, source="test")
    as_of = datetime(2026, 11, 25, tzinfo=timezone.utc)
    both = materialize_funnel(clickhouse, spec, events, "2026-11-20", "2026-11-21", as_of)
    again = materialize_funnel(clickhouse, spec, [], "2026-11-21", "2026-11-21", as_of)  # no new events
    assert again == both  # idempotent: the same rows, no duplicates


@pytest.mark.parametrize("data, problem", [
    ({"name": "a", "steps": ["view"], "window": "1h"}, "steps: must be a list of 2 to 20 event names"),
    ({"name": "a", "steps": ["view", "view"], "window": "1h"}, "steps: an event may be one step only"),
    ({"name": "a", "steps": ["view", "'; DROP TABLE x"], "window": "1h"}, "steps[2]: \"'; DROP TABLE x\" is not an"),
    ({"name": "a", "steps": ["view", "buy"], "window": "1 week"}, "window: '1 week' is not a duration"),
    ({"name": "a", "steps": ["view", "buy"], "window": "8d"}, "up to 7d"),
    ({"name": "a b", "steps": ["view", "buy"], "window": "1h"}, "name: 'a b' is not a valid identifier"),
    ({"name": "a" * 121, "steps": ["view", "buy"], "window": "1h"}, "name: longer than 120 characters"),
    ({"steps": ["view", "buy"], "window": "1h"}, "name: is required"),
    ({"name": "a", "steps": ["view", "buy"], "window": "1h", "filters": {"x": []}}, "filters.x: must be a value"),
    ({"name": "a", "steps": ["view", "buy"], "window": "1h", "colour": 1}, "colour: unknown field"),
])
def test_bad_definitions_name_the_field(data, problem):
    with pytest.raises(FunnelSpecError, match=None) as error:
        parse_funnel(data, source="funnels/a.yaml")
    assert str(error.value).startswith("funnels/a.yaml: ") and problem in str(error.value)


def test_the_shipped_purchase_funnel_and_a_folder_of_user_funnels(tmp_path, monkeypatch):
    (tmp_path / "signup.yaml").write_text("name: signup\nsteps: [view, signup]\nwindow: 2d\n")
    (tmp_path / "broken.yaml").write_text("name: broken\nsteps: [view]\nwindow: 1h\n")
    monkeypatch.setenv("ANALYTICS_FUNNELS_DIR", str(tmp_path))
    specs, errors = load_funnels()
    assert {s.name: (s.steps, s.window_ms) for s in specs} == {
        "purchase": (STEPS, 3_600_000), "signup": (("view", "signup"), 2 * 86_400_000)}
    assert [e.source for e in errors] == [str(tmp_path / "broken.yaml")]


def test_the_funnel_command_lists_and_validates(tmp_path, monkeypatch, capsys):
    from analytics_assets.cli import main

    (tmp_path / "bad.yaml").write_text("name: bad\nsteps: [view]\nwindow: 9y\n")
    monkeypatch.setenv("ANALYTICS_FUNNELS_DIR", str(tmp_path))
    assert main(["funnel", "list"]) == 1
    out = capsys.readouterr()
    assert out.out.startswith("funnel_purchase ") and "left out: " in out.err and "bad.yaml" in out.err
    assert main(["funnel", "validate", str(tmp_path / "bad.yaml")]) == 1
    assert "window: '9y' is not a duration" in capsys.readouterr().err


def test_a_backfill_of_more_than_a_hundred_days_and_a_day_without_a_logical_time(clickhouse):
    first = DAY0 - timedelta(days=119)
    events = [(first + timedelta(days=i, hours=23, minutes=30), "view", "u1", "web") for i in range(120)]
    events += [(first + timedelta(days=i + 1, minutes=10), "add_to_cart", "u1", "web") for i in range(120)]
    spec = parse_funnel({"name": "purchase", "steps": list(STEPS), "window": "1h"}, source="test")
    with clickhouse.get_client() as wh:
        ensure_tables(wh, 0)
        for month in sorted({t.strftime("%Y%m") for t, *_ in events}):  # inserts of at most 100 partitions
            wh.insert_rows("product_events", [(t, n, u, "", None, {"platform": p}, 1) for t, n, u, p in events
                                              if t.strftime("%Y%m") == month],
                           ["event_time", "event_name", "user_id", "session_id", "customer_id", "properties",
                            "source_file_id"])
    # No analytics/as_of tag (a backfill from the UI): each day is as of its end plus the window.
    result = dg.materialize([product_events, build_funnel_asset(spec)], resources={"clickhouse": clickhouse},
                            selection=[spec.table],
                            tags={"dagster/asset_partition_range_start": first.date().isoformat(),
                                  "dagster/asset_partition_range_end": DAY0.date().isoformat()})
    assert result.success
    with clickhouse.get_client() as wh:
        assert wh.rows("SELECT count(), countIf(step = 2 AND users = 1), min(is_complete) FROM funnel_purchase") == [
            (480, 120, 1)]  # every day's view reaches its cart after midnight
