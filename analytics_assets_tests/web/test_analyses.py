"""The four analyses on small data with known answers, computed by hand or with pandas."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from analytics_assets.warehouse.columns import sql_columns
from analytics_assets.web import analyses
from analytics_assets_tests.web.conftest import analyse, check_results, load, point, rows, write_ndjson

ANOMALY_DAY = date(2026, 3, 30)


def ts(day: date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()} {hour:02d}:{minute:02d}:00"


def hits_value(day: date, hour: int) -> float | None:
    """4 weeks alternating 100/110 by week, then the anomaly day: an outage at 03:00, 130 at 10:00."""
    if day == ANOMALY_DAY:
        return {3: None, 10: 130.0, 11: 120.0}.get(hour, 105.0)
    weeks_before = (ANOMALY_DAY - day).days // 7 + (1 if (ANOMALY_DAY - day).days % 7 else 0)
    return 100.0 if weeks_before % 2 else 110.0


@pytest.fixture
def data(landing, clickhouse):
    points = []
    # Moving average: visits on 1..10 March (5 March missing), a gauge on 8..10 March.
    for d in range(1, 11):
        if d != 5:
            points.append(point(ts(date(2026, 3, d), 12), "visits", float(d)))
    points.append(point(ts(date(2026, 3, 10), 13), "visits", 100.0))
    for d in (8, 9, 10):
        points += [point(ts(date(2026, 3, d), 1), "rate", 0.2), point(ts(date(2026, 3, d), 2), "rate", 0.4)]
    # Year over year.
    points += [point(ts(date(2025, 3, 1), 5), "orders", 100.0), point(ts(date(2025, 3, 1), 15), "orders", 50.0),
               point(ts(date(2026, 3, 1), 5), "orders", 120.0), point(ts(date(2026, 3, 1), 15), "orders", 90.0),
               point(ts(date(2025, 3, 2), 5), "orders", 0.0), point(ts(date(2026, 3, 2), 5), "orders", 10.0),
               point(ts(date(2023, 2, 28), 5), "orders", 4.0), point(ts(date(2024, 2, 29), 5), "orders", 5.0)]
    # Anomalies and seasonality: 4 weeks of history, then the day.
    for offset in range(28, -1, -1):
        day = ANOMALY_DAY - timedelta(days=offset)
        for hour in range(24):
            value = hits_value(day, hour)
            if value is not None:
                points.append(point(ts(day, hour), "hits", value))
            points.append(point(ts(day, hour), "flat", 6.0 if (day, hour) == (ANOMALY_DAY, 7) else 5.0))
            if offset <= 14:
                points.append(point(ts(day, hour), "young", 1.0))
    write_ndjson(landing, "history.ndjson", points)
    monkey_gauges = "rate,flat"
    return points, monkey_gauges


@pytest.fixture(autouse=True)
def gauges(monkeypatch):
    monkeypatch.setenv("ANALYTICS_WEB_GAUGE_METRICS", "rate,flat")


def test_moving_average_spans_seven_calendar_days(data, clickhouse):
    load(clickhouse)
    result = analyse(clickhouse, "2026-03-06", "2026-03-10", selection=["website_metrics_moving_average"])
    assert all(check_results(result).values())
    got = {(d, m): (agg, value, ma, n, complete) for d, m, agg, value, ma, n, complete in rows(
        clickhouse, "SELECT * FROM website_metrics_moving_average ORDER BY date, metric_name")}
    assert got[(date(2026, 3, 10), "visits")] == ("sum", 110.0, pytest.approx((4 + 6 + 7 + 8 + 9 + 110) / 6), 6, 1)
    assert got[(date(2026, 3, 6), "visits")] == ("sum", 6.0, pytest.approx((1 + 2 + 3 + 4 + 6) / 5), 5, 1)
    assert got[(date(2026, 3, 10), "rate")] == ("avg", pytest.approx(0.3), pytest.approx(0.3), 3, 1)
    assert (date(2026, 3, 5), "visits") not in got  # no data that day: no row, and no day counted twice


def test_a_range_in_one_run_equals_day_by_day_runs_and_reruns_change_nothing(data, clickhouse):
    load(clickhouse)
    analyse(clickhouse, "2026-03-06", "2026-03-10", selection=["website_metrics_moving_average"])
    once = rows(clickhouse, "SELECT * FROM website_metrics_moving_average ORDER BY ALL")
    for day in range(6, 11):
        analyse(clickhouse, f"2026-03-{day:02d}", selection=["website_metrics_moving_average"])
    assert rows(clickhouse, "SELECT * FROM website_metrics_moving_average ORDER BY ALL") == once
    analyse(clickhouse, "2026-03-08", selection=["website_metrics_moving_average"])
    assert rows(clickhouse, "SELECT * FROM website_metrics_moving_average ORDER BY ALL") == once


def test_year_over_year_growth(data, clickhouse):
    load(clickhouse)
    select = ("SELECT date, previous_date, current_value, previous_value, yoy_growth_pct, is_complete "
              "FROM website_metrics_yoy WHERE metric_name = 'orders' ORDER BY date")
    # A day in progress is compared with the same hours of last year's day.
    analyse(clickhouse, "2026-03-01", as_of=datetime(2026, 3, 1, 10, tzinfo=timezone.utc),
            selection=["website_metrics_yoy"])
    assert rows(clickhouse, select) == [(date(2026, 3, 1), date(2025, 3, 1), 120.0, 100.0, pytest.approx(20.0), 0)]
    analyse(clickhouse, "2026-03-01", "2026-03-02", selection=["website_metrics_yoy"])
    assert rows(clickhouse, select) == [
        (date(2026, 3, 1), date(2025, 3, 1), 210.0, 150.0, pytest.approx(40.0), 1),
        (date(2026, 3, 2), date(2025, 3, 2), 10.0, 0.0, None, 1),  # last year 0: no growth, no division
    ]
    analyse(clickhouse, "2024-02-29", selection=["website_metrics_yoy"])
    assert rows(clickhouse, select)[0] == (date(2024, 2, 29), date(2023, 2, 28), 5.0, 4.0, pytest.approx(25.0), 1)


def test_anomalies_against_the_same_hour_of_the_week(data, clickhouse):
    load(clickhouse)
    result = analyse(clickhouse, ANOMALY_DAY.isoformat(), selection=["website_metrics_anomalies"])
    assert all(check_results(result).values())
    got = {(m, h.hour): (value, mean, sd, n, z, status) for m, h, value, mean, sd, n, z, status in rows(
        clickhouse, "SELECT metric_name, hour, value, baseline_mean, baseline_stddev, baseline_samples, z_score, "
                    "status FROM website_metrics_anomalies")}
    # 4 past weeks alternate 100/110: slot mean 105, residuals +-5 pooled over the 7 weekdays
    # (28 values, 7 means): sd = sqrt(28 * 25 / 21), widened by sqrt(1 + 1/4).
    sd = math.sqrt(28 * 25 / 21) * math.sqrt(1 + 1 / 4)
    assert got[("hits", 3)] == (0.0, 105.0, pytest.approx(sd), 4, pytest.approx(-105 / sd), "ANOMALY")  # outage
    assert got[("hits", 10)] == (130.0, 105.0, pytest.approx(sd), 4, pytest.approx(25 / sd), "ANOMALY")
    assert got[("hits", 11)][4:] == (pytest.approx(15 / sd), "NORMAL")
    assert got[("hits", 0)][4:] == (pytest.approx(0.0), "NORMAL")
    # A flat series never divides by zero; any departure from it is an anomaly.
    assert got[("flat", 7)] == (6.0, 5.0, 0.0, 4, None, "ANOMALY")
    assert got[("flat", 8)] == (5.0, 5.0, 0.0, 4, None, "NORMAL")
    # Two weeks of history are too few.
    assert {got[("young", h)][5] for h in range(24)} == {"NO_BASELINE"}
    metadata = result.asset_materializations_for_node("website_metrics_anomalies")[0].metadata
    assert metadata["anomalies"].value == 3
    built = [(c.name, c.type) for c in metadata["dagster/column_schema"].value.columns]
    assert built == [(c.name, c.type) for c in sql_columns(Path(analyses.__file__).with_name(
        "website_metrics_anomalies.sql"))]  # as declared (website_metrics_anomalies.columns.sql)


def test_anomaly_threshold_is_a_setting(data, clickhouse, monkeypatch):
    load(clickhouse)
    monkeypatch.setenv("ANALYTICS_WEB_ANOMALY_Z", "2")
    analyse(clickhouse, ANOMALY_DAY.isoformat(), selection=["website_metrics_anomalies"])
    assert rows(clickhouse, "SELECT status, threshold FROM website_metrics_anomalies "
                            "WHERE metric_name = 'hits' AND toHour(hour) = 11") == [("ANOMALY", 2.0)]


def test_seasonal_profile_matches_pandas(data, clickhouse):
    points, _ = data
    load(clickhouse)
    analyse(clickhouse, ANOMALY_DAY.isoformat(), selection=["website_metrics_seasonality"])
    frame = pd.DataFrame(points)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame = frame[(frame["metric_name"] == "hits")
                  & (frame["timestamp"] >= pd.Timestamp(ANOMALY_DAY - timedelta(days=55)))
                  & (frame["timestamp"] < pd.Timestamp(ANOMALY_DAY + timedelta(days=1)))]
    hourly = frame.groupby(frame["timestamp"].dt.floor("h"))["metric_value"].sum()
    expected = hourly.groupby([hourly.index.dayofweek + 1, hourly.index.hour]).agg(["mean", "median", "count"])
    got = rows(clickhouse, "SELECT day_of_week, hour_of_day, mean_value, median_value, samples "
                           "FROM website_metrics_seasonality WHERE metric_name = 'hits' AND date = {d:Date} "
                           "ORDER BY day_of_week, hour_of_day", {"d": ANOMALY_DAY})
    assert len(got) == len(expected) == 7 * 24
    for (dow, hour, mean, median, samples), ((edow, ehour), row) in zip(got, expected.iterrows()):
        assert (dow, hour, samples) == (edow, ehour, row["count"])
        assert mean == pytest.approx(row["mean"]) and median == pytest.approx(row["median"])


def test_a_backfill_of_more_than_a_hundred_days_runs_as_one_run(landing, clickhouse):
    first = date(2025, 11, 1)
    write_ndjson(landing, "year.ndjson", [point(ts(first + timedelta(days=i), 12), "visits", 1.0) for i in range(120)])
    load(clickhouse)
    result = analyse(clickhouse, first.isoformat(), (first + timedelta(days=119)).isoformat())
    assert result.success  # 120 daily partitions written by one insert per analysis
    assert rows(clickhouse, "SELECT count(), min(date), max(date) FROM website_metrics_moving_average") == [
        (120, first, first + timedelta(days=119))]
