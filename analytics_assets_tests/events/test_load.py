"""Event files load exactly once, through the landing machinery; bad rows wait in the quarantine."""

from __future__ import annotations

from analytics_assets_tests.events.conftest import event, load_events, rows, write_events
from analytics_assets_tests.web.conftest import check_results, write_lines

GOOD = [
    event("2026-11-20T10:00:00.123Z", "view", "u1", "s1", platform="web", price=19.99),
    event("2026-11-20 10:01:00", "add_to_cart", 42, "s2", customer=7),
    event("2026-11-20T12:01:00+02:00", "purchase", "u1", "s1", customer="7", amount="19.99"),
]


def test_events_load_once_with_their_fields(landing, clickhouse):
    write_events(landing, "a.ndjson", GOOD)
    first = load_events(clickhouse)
    assert all(check_results(first).values())
    load_events(clickhouse)  # a rerun, or a second sensor tick: nothing new
    assert rows(clickhouse, "SELECT toString(event_time), event_name, user_id, session_id, customer_id, properties"
                            " FROM product_events ORDER BY event_time, event_name") == [
        ("2026-11-20 10:00:00.123", "view", "u1", "s1", None, {"platform": "web", "price": "19.99"}),
        ("2026-11-20 10:01:00.000", "add_to_cart", "42", "s2", 7, {}),
        ("2026-11-20 10:01:00.000", "purchase", "u1", "s1", 7, {"amount": "19.99"}),  # +02:00 is 10:01 UTC
    ]
    assert rows(clickhouse, "SELECT file_name, status, rows_loaded FROM product_events_files FINAL") == [
        ("a.ndjson", "loaded", 3)]
    assert rows(clickhouse, "SELECT partition FROM system.parts WHERE table = 'product_events' AND active") == [
        ("2026-11-20",)]


def test_a_csv_holds_the_same_events(landing, clickhouse):
    write_lines(landing, "a.csv", [
        "user_id,event_name,event_time,customer_id,properties",
        'u1,view,2026-11-20T10:00:00.123Z,,"{""platform"":""web"",""price"":19.99}"',
        "42,add_to_cart,2026-11-20 10:01:00,7,",
        'u1,purchase,2026-11-20T12:01:00+02:00,7,"{""amount"":""19.99""}"',
    ])
    load_events(clickhouse)
    assert rows(clickhouse, "SELECT toString(event_time), event_name, user_id, session_id, customer_id, properties"
                            " FROM product_events ORDER BY event_time, event_name") == [
        ("2026-11-20 10:00:00.123", "view", "u1", "", None, {"platform": "web", "price": "19.99"}),
        ("2026-11-20 10:01:00.000", "add_to_cart", "42", "", 7, {}),
        ("2026-11-20 10:01:00.000", "purchase", "u1", "", 7, {"amount": "19.99"}),
    ]


def test_bad_event_rows_are_quarantined_with_their_reason_and_the_good_ones_load(landing, clickhouse, monkeypatch):
    monkeypatch.setenv("ANALYTICS_EVENTS_MAX_BAD_ROWS_PCT", "100")
    bad = [
        "not json",
        "[1, 2]",
        '{"event_time": "12", "event_name": "x", "user_id": "u"}',
        '{"event_time": "2026-11-20T10:00:00Z", "event_name": "1bad", "user_id": "u"}',
        '{"event_time": "2026-11-20T10:00:00Z", "event_name": "ok", "user_id": "u", "customer_id": -3}',
        '{"event_time": "2026-11-20T10:00:00Z", "event_name": "ok", "user_id": "u", "properties": [1]}',
        '{"event_time": "2099-11-20T10:00:00Z", "event_name": "ok", "user_id": "u"}',
        '{"event_time": "2026-11-20T10:00:00Z", "event_name": "ok"}',
        '{"event_name": "ok", "user_id": "u"}',
        '{"event_time": "1969-12-31T23:59:59Z", "event_name": "ok", "user_id": "u"}',
    ]
    write_lines(landing, "mixed.ndjson", [*map(__import__("json").dumps, GOOD), *bad])
    result = load_events(clickhouse)
    assert check_results(result)["product_events:landing_files_accepted"] is True
    assert rows(clickhouse, "SELECT count() FROM product_events") == [(3,)]
    reasons = rows(clickhouse, "SELECT line_no, reason FROM product_events_quarantine ORDER BY line_no")
    assert [(n, r.split(" (later")[0]) for n, r in reasons] == [
        (4, "not valid JSON"),
        (5, "not a JSON object"),
        (6, 'event_time "12" is not an ISO 8601 time (1970 or later)'),
        (7, 'event_name "1bad" is not a name (a letter, then letters, digits, _ . : -; at most 100)'),
        (8, 'customer_id "-3" is not a positive integer'),
        (9, "properties is not a JSON object"),
        (10, "event_time 2099-11-20 10:00:00.000 is in the future"),
        (11, "user_id is missing"),
        (12, "event_time is missing"),
        (13, 'event_time "1969-12-31T23:59:59Z" is not an ISO 8601 time (1970 or later)'),
    ]


def test_a_file_of_mostly_bad_rows_is_rejected_whole(landing, clickhouse):
    write_lines(landing, "broken.ndjson", ["oops"] * 3 + ['{"event_time": "2026-11-20T10:00:00Z", "event_name": "a",'
                                                           ' "user_id": "u"}'])
    result = load_events(clickhouse)
    assert check_results(result)["product_events:landing_files_accepted"] is False  # an error, not blocking
    assert rows(clickhouse, "SELECT count() FROM product_events") == [(0,)]
    assert rows(clickhouse, "SELECT status FROM product_events_files FINAL") == [("rejected",)]
