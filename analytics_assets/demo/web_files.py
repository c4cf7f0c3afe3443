"""Realistic website metric files for the landing folder (deterministic for a seed).

Seven metrics every 15 minutes per device: additive counts (pageviews, sessions,
unique_visitors, signups) and gauges (bounce_rate, avg_session_duration_s, page_load_time_ms),
with a daily curve, a weekly rhythm, a year-on-year growth trend, noise, and a few anomalies
(an outage with no points, a bot spike, slow pages). History goes in monthly files, the last
week in daily files (every other one CSV), and `--activity` adds hourly files.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from analytics_assets.files import atomic_path

STEP_MINUTES = 15
DEVICES = ("desktop", "mobile")
DEVICE_SHARE = {"desktop": 0.45, "mobile": 0.55}
ADDITIVE = {"pageviews": 900.0, "sessions": 260.0, "unique_visitors": 210.0, "signups": 3.0}
GAUGES = {"bounce_rate": (0.42, 0.04), "avg_session_duration_s": (185.0, 15.0), "page_load_time_ms": (820.0, 60.0)}
GROWTH_PER_YEAR = 0.25
EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Anomaly:
    kind: str  # outage | spike | slow
    start: datetime
    hours: int


def anomalies(as_of: datetime) -> list[Anomaly]:
    """A few incidents in the last two weeks, at fixed offsets from `as_of`."""
    base = as_of.replace(minute=0, second=0, microsecond=0)
    return [
        Anomaly("outage", base - timedelta(days=3, hours=5), 2),
        Anomaly("spike", base - timedelta(days=6, hours=14), 3),
        Anomaly("slow", base - timedelta(days=9, hours=20), 4),
    ]


def points(start: datetime, end: datetime, *, as_of: datetime, seed: int = 7) -> list[dict]:
    """Every point with start <= timestamp < end, as dicts in landing-file shape."""
    steps = int((end - start).total_seconds() // (STEP_MINUTES * 60))
    if steps <= 0:
        return []
    times = np.array([start + timedelta(minutes=STEP_MINUTES * i) for i in range(steps)])
    hours = np.array([t.hour + t.minute / 60 for t in times])
    weekday = np.array([t.weekday() for t in times])
    years = np.array([(t - EPOCH).total_seconds() / (365.25 * 86400) for t in times])
    daily = 0.35 + 0.65 * np.exp(-((hours - 14.0) ** 2) / 18.0)  # night low, peak mid-afternoon
    weekly = np.where(weekday >= 5, 0.78, 1.0)
    trend = (1 + GROWTH_PER_YEAR) ** (years - 5)
    # Noise depends on the point's time, not on where a file starts: the same point is the
    # same in every file that holds it.
    slot = np.array([int((t - EPOCH).total_seconds() // (STEP_MINUTES * 60)) for t in times])
    incidents = anomalies(as_of)

    def in_incident(kind: str) -> np.ndarray:
        mask = np.zeros(steps, dtype=bool)
        for a in incidents:
            if a.kind == kind:
                mask |= (times >= a.start) & (times < a.start + timedelta(hours=a.hours))
        return mask

    outage, spike, slow = in_incident("outage"), in_incident("spike"), in_incident("slow")
    rows = []
    for d, device in enumerate(DEVICES):
        for m, (metric, base) in enumerate(ADDITIVE.items()):
            noise = _noise(seed, slot, m, d, 0.08)
            values = base * DEVICE_SHARE[device] * daily * weekly * trend * noise / (60 / STEP_MINUTES)
            values = np.where(spike & (metric in ("pageviews", "sessions")), values * 5, values)
            rows += _rows(times, metric, np.round(values, 2), device, keep=~outage)
        for m, (metric, (mean, sd)) in enumerate(GAUGES.items(), start=len(ADDITIVE)):
            noise = _noise(seed, slot, m, d, 1.0) - 1.0
            values = mean + sd * noise + (0.03 if device == "mobile" and metric == "bounce_rate" else 0)
            if metric == "page_load_time_ms":
                values = np.where(slow, values * 3.5, values)
            rows += _rows(times, metric, np.round(values, 4), device, keep=~outage)
    rows.sort(key=lambda r: (r["timestamp"], r["metric_name"], r["dimensions"]["device"]))
    return rows


def _noise(seed: int, slot: np.ndarray, metric: int, device: int, scale: float) -> np.ndarray:
    """Deterministic per (seed, slot, metric, device), vectorized: normal around 1 with `scale`."""
    def uniform(salt: float) -> np.ndarray:  # a classic sine hash, in (0, 1)
        x = np.sin(slot * 12.9898 + metric * 78.233 + device * 37.719 + seed * 3.1 + salt) * 43758.5453
        return np.clip(x - np.floor(x), 1e-12, 1 - 1e-12)

    normal = np.sqrt(-2 * np.log(uniform(0.0))) * np.cos(2 * np.pi * uniform(1.7))
    out = 1 + scale * normal
    return np.clip(out, 0.05, None) if scale < 1 else out


def _rows(times, metric: str, values, device: str, keep) -> list[dict]:
    return [
        {"timestamp": t.strftime("%Y-%m-%d %H:%M:%S"), "metric_name": metric, "metric_value": float(v),
         "dimensions": {"device": device, "site": "shop"}, "tags": ["web", "prod"]}
        for t, v, k in zip(times, values, keep) if k
    ]


def write_file(path: Path, rows: list[dict]) -> Path:
    """NDJSON or CSV by the name (`.gz` compresses); written aside, then renamed into place."""
    fmt_csv = ".csv" in path.name
    if fmt_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["timestamp", "metric_name", "metric_value", "dimensions", "tags"])
        for r in rows:
            writer.writerow([r["timestamp"], r["metric_name"], repr(r["metric_value"]),
                             json.dumps(r["dimensions"]), json.dumps(r["tags"])])
        text = buffer.getvalue()
    else:
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows)
    return land(path, text)


def land(path: Path, text: str) -> Path:
    """`text` as the landing file `path` (gzipped when the name ends in `.gz`), written aside and
    renamed into place, as a producer should: the sensor never sees half a file."""
    data = text.encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=5, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_history(folder: Path, *, as_of: datetime, days: int = 400, seed: int = 7) -> list[Path]:
    """Metric files covering [as_of - days, as_of) (see history_files)."""
    as_of = as_of.replace(minute=0, second=0, microsecond=0)
    return history_files(folder, "web-metrics", as_of, days,
                         lambda path, start, end: write_file(path, points(start, end, as_of=as_of, seed=seed)))


def history_files(folder: Path, prefix: str, as_of: datetime, days: int,
                  write: Callable[[Path, datetime, datetime], Path]) -> list[Path]:
    """The files a producer's exports leave for [as_of - days, as_of): `write(path, start, end)`
    once per month (`<prefix>-2026-10.ndjson.gz`), then once per day for the last week (every
    other one CSV)."""
    start = datetime.combine(as_of.date() - timedelta(days=days), datetime.min.time(), tzinfo=timezone.utc)
    daily_from = datetime.combine(as_of.date() - timedelta(days=7), datetime.min.time(), tzinfo=timezone.utc)
    written = []
    month_start = start
    while month_start < daily_from:
        end = min(_next_month(month_start), daily_from)
        written.append(write(folder / f"{prefix}-{month_start:%Y-%m}.ndjson.gz", month_start, end))
        month_start = end
    day = daily_from
    while day < as_of:
        end = min(day + timedelta(days=1), as_of)
        ext = "csv.gz" if day.toordinal() % 2 else "ndjson.gz"
        written.append(write(folder / f"{prefix}-{day:%Y-%m-%d}.{ext}", day, end))
        day = end
    return written


def write_hour(folder: Path, hour_start: datetime, *, as_of: datetime, seed: int = 7) -> Path:
    """One hour of points in its own file (what a live producer drops every hour)."""
    rows = points(hour_start, hour_start + timedelta(hours=1), as_of=as_of, seed=seed)
    return write_file(folder / f"web-metrics-{hour_start:%Y-%m-%dT%H}.ndjson", rows)


def _next_month(t: datetime) -> datetime:
    first = date(t.year + (t.month == 12), t.month % 12 + 1, 1)
    return datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
