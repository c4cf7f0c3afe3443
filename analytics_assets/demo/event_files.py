"""Realistic product event files for the landing folder (deterministic for a seed).

Sessions follow a daily curve and a weekly rhythm; most visitors are new, some return over the
following weeks (so retention decays). A session views a few products; some add one to the
cart, fewer check out, fewer buy: view -> add_to_cart -> checkout -> purchase with drop-off at
each step, and one purchase in ten comes more than an hour after the view (outside the shipped
funnel's window). Signed-in users carry a `customer_id` on their cart, checkout and purchase
events, which ties them to `customer_360`. History goes in monthly files, the last week in
daily files (every other one CSV), and later runs add the hour before the logical time.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from analytics_assets.demo.web_files import history_files, land

SESSIONS_PER_DAY = 1200
NEW_VISITOR_SHARE = 0.6
P_CART, P_CHECKOUT, P_PURCHASE = 0.28, 0.55, 0.72
LATE_PURCHASE_SHARE = 0.1
SIGNED_IN_SHARE = 0.5
PLATFORMS = ("web", "ios", "android")
PLATFORM_SHARE = (0.55, 0.25, 0.2)
COUNTRIES = ("US", "DE", "FR", "GB", "JP")
HOUR_WEIGHTS = 0.35 + 0.65 * np.exp(-((np.arange(24) - 14.0) ** 2) / 18.0)
COLUMNS = ("event_time", "event_name", "user_id", "session_id", "customer_id", "properties")


def _sessions(day: date) -> int:
    return int(SESSIONS_PER_DAY * (0.8 if day.weekday() >= 5 else 1.0))


def day_events(day: date, *, customers: int, seed: int = 11) -> list[dict]:
    """Every event of the sessions that start on `day` (some run past midnight)."""
    rng = np.random.default_rng([seed, day.toordinal()])
    n = _sessions(day)
    day_start = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)
    hours = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    starts = np.sort(hours * 3600 + rng.uniform(0, 3600, size=n))
    events = []
    for i, start in enumerate(starts):
        user = _user(rng, day, i)
        platform = PLATFORMS[rng.choice(3, p=PLATFORM_SHARE)]
        country = COUNTRIES[zlib.crc32(user.encode()) % len(COUNTRIES)]
        signed_in = (zlib.crc32(user.encode()) % 100) < SIGNED_IN_SHARE * 100
        customer = zlib.crc32(b"c" + user.encode()) % customers + 1 if signed_in else None
        session = f"s{day:%Y%m%d}-{i}"
        t = float(start)

        def add(name: str, props: dict, with_customer: bool = False) -> None:
            events.append({"event_time": day_start + timedelta(seconds=round(t, 3)), "event_name": name,
                           "user_id": user, "session_id": session,
                           "customer_id": customer if with_customer else None,
                           "properties": {"platform": platform, "country": country, **props}})

        product = int(rng.integers(1, 500))
        price = round(float(rng.lognormal(3.5, 0.6)), 2)
        for _ in range(min(6, 1 + int(rng.geometric(0.5)) - 1)):
            add("view", {"product_id": str(int(rng.integers(1, 500)))})
            t += float(rng.uniform(5, 120))
        add("view", {"product_id": str(product), "price": str(price)})
        if rng.random() >= P_CART:
            continue
        t += float(rng.uniform(10, 600))
        add("add_to_cart", {"product_id": str(product), "price": str(price)}, True)
        if rng.random() >= P_CHECKOUT:
            continue
        t += float(rng.uniform(20, 900))
        add("checkout", {"items": "1", "value": str(price)}, True)
        if rng.random() >= P_PURCHASE:
            continue
        t += float(rng.uniform(3700, 7200) if rng.random() < LATE_PURCHASE_SHARE else rng.uniform(30, 900))
        add("purchase", {"value": str(price), "currency": "USD"}, True)
    return events


def _user(rng: np.random.Generator, day: date, i: int) -> str:
    """A new visitor, or one who first came on an earlier day (more often a recent one)."""
    if rng.random() < NEW_VISITOR_SHARE:
        return f"u{day:%Y%m%d}-{i}"
    first = day - timedelta(days=int(min(83, rng.geometric(0.08))))
    return f"u{first:%Y%m%d}-{int(rng.integers(0, int(_sessions(first) * NEW_VISITOR_SHARE)))}"


def events_between(start: datetime, end: datetime, *, customers: int, seed: int = 11) -> list[dict]:
    """Every event with start <= event_time < end: the same event lands in one file only."""
    found = []
    day = start.date() - timedelta(days=1)  # a session of the day before can run past midnight
    while day <= (end - timedelta(microseconds=1)).date():
        found += [e for e in day_events(day, customers=customers, seed=seed) if start <= e["event_time"] < end]
        day += timedelta(days=1)
    found.sort(key=lambda e: (e["event_time"], e["user_id"], e["event_name"]))
    return found


def write_file(path: Path, events: list[dict]) -> Path:
    """NDJSON or CSV by the name (`.gz` compresses); written aside, then renamed into place."""
    def iso(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    if ".csv" in path.name:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for e in events:
            writer.writerow([iso(e["event_time"]), e["event_name"], e["user_id"], e["session_id"],
                             "" if e["customer_id"] is None else e["customer_id"], json.dumps(e["properties"])])
        text = buffer.getvalue()
    else:
        text = "".join(json.dumps({**e, "event_time": iso(e["event_time"])}, separators=(",", ":")) + "\n"
                       for e in events)
    return land(path, text)


def write_history(folder: Path, *, as_of: datetime, customers: int, days: int = 90, seed: int = 11) -> list[Path]:
    """Event files covering [as_of - days, as_of): monthly files, then daily ones for the last week."""
    return history_files(folder, "events", as_of.replace(minute=0, second=0, microsecond=0), days,
                         lambda path, start, end: write_file(path, events_between(start, end, customers=customers,
                                                                                  seed=seed)))


def write_hour(folder: Path, hour_start: datetime, *, customers: int, seed: int = 11) -> Path:
    """One hour of events in its own file (what a live producer drops every hour)."""
    events = events_between(hour_start, hour_start + timedelta(hours=1), customers=customers, seed=seed)
    return write_file(folder / f"events-{hour_start:%Y-%m-%dT%H}.ndjson", events)
