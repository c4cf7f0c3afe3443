"""Landing files into website_metrics: exactly once, bad rows quarantined, nothing good lost."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from analytics_assets.landing import load as landing_load
from analytics_assets.warehouse.sql import sql_file
from analytics_assets.web import load as web_load
from analytics_assets.web.load import ensure_tables
from analytics_assets_tests.web.conftest import check_results, load, point, rows, write_lines, write_ndjson

GOOD = [
    '{"timestamp":"2026-03-02 10:00:00","metric_name":"pageviews","metric_value":10,'
    '"dimensions":{"device":"mobile"},"tags":["web","a"]}',
    '{"timestamp":"2026-03-02 10:30:00","metric_name":"pageviews","metric_value":2.5}',
    '{"timestamp":"2026-03-02 11:00:00","metric_name":"bounce_rate","metric_value":"0.5","dimensions":{}}',
]
BAD = {
    "not json": "not valid JSON",
    "[1, 2, 3]": "not a JSON object",
    '{"metric_name":"pageviews","metric_value":1}': "timestamp is missing",
    '{"timestamp":"2026-03-02T10:00:00Z","metric_name":"pageviews","metric_value":1}':
        'timestamp "2026-03-02T10:00:00Z" is not a UTC time YYYY-MM-DD HH:MM:SS (1970 or later)',
    '{"timestamp":"2026-02-30 10:00:00","metric_name":"pageviews","metric_value":1}':
        'timestamp "2026-02-30 10:00:00" is not a UTC time YYYY-MM-DD HH:MM:SS (1970 or later)',
    '{"timestamp":"2100-01-01 00:00:00","metric_name":"pageviews","metric_value":1}':
        "timestamp 2100-01-01 00:00:00 is in the future (later than ",
    '{"timestamp":"2026-03-02 10:00:00","metric_value":1}': "metric_name is missing",
    '{"timestamp":"2026-03-02 10:00:00","metric_name":{"a":1},"metric_value":1}':
        'metric_name "{"a":1}" is not a name (control characters, JSON, or over 200 characters)',
    '{"timestamp":"2026-03-02 10:00:00","metric_name":"pageviews"}': "metric_value is missing",
    '{"timestamp":"2026-03-02 10:00:00","metric_name":"pageviews","metric_value":"abc"}':
        'metric_value "abc" is not a number',
    '{"timestamp":"2026-03-02 10:00:00","metric_name":"pageviews","metric_value":"inf"}':
        "metric_value inf is not finite",
    '{"timestamp":"2026-03-02 10:00:00","metric_name":"pageviews","metric_value":1,"dimensions":"mobile"}':
        "dimensions is not an object of strings",
    '{"timestamp":"2026-03-02 10:00:00","metric_name":"pageviews","metric_value":1,"tags":"web"}':
        "tags is not an array of strings",
}


@pytest.fixture(autouse=True)
def tolerant(monkeypatch):
    monkeypatch.setenv("ANALYTICS_WEB_MAX_BAD_ROWS_PCT", "90")


def test_good_rows_load_and_each_bad_row_is_quarantined_with_line_and_reason(landing, clickhouse):
    lines = [GOOD[0], *BAD, GOOD[1], "", GOOD[2]]  # the blank line is skipped, not quarantined
    write_lines(landing, "m.ndjson", lines)
    result = load(clickhouse)
    assert rows(clickhouse, "SELECT timestamp, metric_name, metric_value, dimensions, tags FROM website_metrics "
                            "ORDER BY timestamp, metric_name") == [
        (datetime(2026, 3, 2, 10, 0), "pageviews", 10.0, {"device": "mobile"}, ["web", "a"]),
        (datetime(2026, 3, 2, 10, 30), "pageviews", 2.5, {}, []),
        (datetime(2026, 3, 2, 11, 0), "bounce_rate", 0.5, {}, []),
    ]
    quarantined = rows(clickhouse, "SELECT file_name, line_no, reason, line FROM website_metrics_quarantine "
                                   "ORDER BY line_no")
    assert [(f, n, line) for f, n, _, line in quarantined] == [("m.ndjson", i + 2, line) for i, line in enumerate(BAD)]
    for (_, _, reason, _), expected in zip(quarantined, BAD.values()):
        assert reason.startswith(expected)
    assert rows(clickhouse, "SELECT file_name, status, rows_loaded, rows_quarantined FROM website_metrics_files FINAL") \
        == [("m.ndjson", "loaded", 3, len(BAD))]
    assert all(check_results(result).values()), check_results(result)


def test_csv_and_gzip_load_the_same_rows_as_ndjson(landing, clickhouse):
    write_lines(landing, "a.csv", [
        "timestamp,metric_name,metric_value,dimensions,tags",
        '2026-03-02 10:00:00,pageviews,10,"{""device"":""mobile""}","[""web"",""a""]"',
        "2026-03-02 10:30:00, pageviews ,2.5,,",
        "2026-03-02 11:00:00,bounce_rate,0.5,{},[]",
        "2026-03-02 11:00:00,bounce_rate,oops,,",
        "2026-03-02 11:00:00,bounce_rate",
    ])
    (landing / "b.ndjson.gz").write_bytes(gzip.compress("".join(g + "\n" for g in GOOD).encode()))
    load(clickhouse)
    by_file = rows(clickhouse, "SELECT f.file_name, groupArray((timestamp, metric_name, metric_value, dimensions, tags))"
                               " FROM (SELECT * FROM website_metrics ORDER BY timestamp, metric_name) AS m"
                               " JOIN (SELECT * FROM website_metrics_files FINAL) AS f USING (source_file_id) GROUP BY f.file_name "
                               "ORDER BY f.file_name")
    assert len(by_file) == 2 and by_file[0][1] == by_file[1][1] and len(by_file[0][1]) == 3
    assert rows(clickhouse, "SELECT line_no, reason FROM website_metrics_quarantine ORDER BY line_no") == [
        (5, 'metric_value "oops" is not a number'), (6, "expected 5 fields, found 2")]


def test_a_csv_without_the_optional_columns_loads(landing, clickhouse):
    write_lines(landing, "a.csv", ["metric_value,timestamp,metric_name", "4,2026-03-02 10:00:00,pageviews"])
    load(clickhouse)
    assert rows(clickhouse, "SELECT toString(timestamp), metric_name, metric_value, dimensions, tags"
                            " FROM website_metrics") == [("2026-03-02 10:00:00", "pageviews", 4.0, {}, [])]


def test_each_file_is_loaded_once(landing, clickhouse):
    write_lines(landing, "a.ndjson", GOOD)
    first = load(clickhouse)
    second = load(clickhouse)  # a retried run, or the sensor firing twice
    (landing / "copy-of-a.ndjson").write_bytes((landing / "a.ndjson").read_bytes())
    third = load(clickhouse)
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(3,)]
    assert rows(clickhouse, "SELECT sum(sample_count) FROM website_metrics_hourly") == [(3,)]
    metadata = [r.asset_materializations_for_node("website_metrics")[0].metadata for r in (first, second, third)]
    assert [(m["files_loaded"].value, m["files_skipped"].value) for m in metadata] == [(1, 0), (0, 1), (0, 2)]
    assert "same content as a.ndjson" in metadata[2]["files"].value
    assert all(check_results(third).values())


def test_a_file_changed_after_loading_is_refused_and_flagged(landing, clickhouse):
    path = write_lines(landing, "a.ndjson", GOOD)
    load(clickhouse)
    path.write_text(path.read_text() + GOOD[0].replace("10:00:00", "12:00:00") + "\n")  # appended to in place
    result = load(clickhouse)
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(3,)]
    checks = check_results(result)
    assert checks["website_metrics:landing_files_accepted"] is False
    assert checks["website_metrics:files_loaded_once"] is True
    evaluation = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                      and e.event_specific_data.check_name == "landing_files_accepted")
    assert "a.ndjson changed after it was loaded" in evaluation.metadata["files"].value


def test_a_mostly_bad_file_is_rejected_whole_and_a_fixed_copy_loads(landing, clickhouse, monkeypatch):
    monkeypatch.setenv("ANALYTICS_WEB_MAX_BAD_ROWS_PCT", "10")
    write_lines(landing, "export.ndjson", [GOOD[0], "garbage", "more garbage"])
    result = load(clickhouse)
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(0,)]
    assert rows(clickhouse, "SELECT status, rows_loaded, rows_quarantined FROM website_metrics_files FINAL") == [
        ("rejected", 0, 2)]
    assert check_results(result)["website_metrics:landing_files_accepted"] is False
    write_lines(landing, "export-fixed.ndjson", GOOD)
    load(clickhouse)
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(3,)]


def test_an_unreadable_gzip_is_rejected_and_the_others_load(landing, clickhouse):
    (landing / "broken.ndjson.gz").write_bytes(gzip.compress(("\n".join(GOOD) + "\n").encode() * 200)[:-40])
    write_lines(landing, "fine.ndjson", GOOD)
    load(clickhouse)
    assert rows(clickhouse, "SELECT file_name, status, detail FROM website_metrics_files FINAL ORDER BY file_name")[0][:2] \
        == ("broken.ndjson.gz", "rejected")
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(3,)]


def test_a_load_cut_short_after_publishing_is_taken_out_and_loaded_again(landing, clickhouse, monkeypatch):
    write_lines(landing, "a.ndjson", GOOD)
    write_lines(landing, "b.ndjson", [GOOD[0].replace("10:00:00", "12:00:00")])
    real_register = landing_load._register
    calls = []

    def crash_on_final_registration(wh, feed, registrations, run_id):
        calls.append([r[4] for r in registrations])
        if registrations[0][4] != "loading":
            raise RuntimeError("killed after publishing")
        real_register(wh, feed, registrations, run_id)

    monkeypatch.setattr(landing_load, "_register", crash_on_final_registration)
    assert not load(clickhouse, raise_on_error=False).success
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(4,)]  # published, never registered
    assert rows(clickhouse, "SELECT status FROM website_metrics_files FINAL") == [("loading",), ("loading",)]

    monkeypatch.setattr(landing_load, "_register", real_register)
    result = load(clickhouse)
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(4,)]
    assert rows(clickhouse, "SELECT sum(sample_count), sum(total_value) FROM website_metrics_hourly") == [(4, 23.0)]
    assert rows(clickhouse, "SELECT status FROM website_metrics_files FINAL") == [("loaded",), ("loaded",)]
    assert all(check_results(result).values())


def test_hourly_rollup_is_exact_after_forced_merges_where_the_seeds_summing_view_is_not(landing, clickhouse):
    batches = [[1.0, 2.0, 3.0], [10.0], [-4.0, 0.5]]
    for i, values in enumerate(batches):  # separate files: separate inserts, separate parts
        write_ndjson(landing, f"batch{i}.ndjson", [point(f"2026-03-02 10:{i * 10 + j:02d}:00", "load_ms", v)
                                                   for j, v in enumerate(values)])
        load(clickhouse)
    everything = [v for values in batches for v in values]
    expected = [(datetime(2026, 3, 2, 10), "load_ms", sum(everything), sum(everything) / len(everything),
                 max(everything), min(everything), len(everything))]
    with clickhouse.get_client() as wh:
        wh.command("OPTIMIZE TABLE website_metrics_hourly_state FINAL")
        assert wh.rows("SELECT * FROM website_metrics_hourly") == expected
        assert wh.rows(sql_file(web_load.__file__, "website_metrics_hourly_matches_raw"),
                       {"from": datetime(2000, 1, 1), "to": datetime(2100, 1, 1)})[0][0] == 0

        # The seed's definition, fed the same inserts, merged the same way.
        wh.command("CREATE TABLE seed_metrics AS website_metrics")
        wh.command("""CREATE MATERIALIZED VIEW seed_hourly ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(hour)
                      ORDER BY (metric_name, hour) AS SELECT toStartOfHour(timestamp) as hour, metric_name,
                      sum(metric_value) as total_value, avg(metric_value) as avg_value, max(metric_value) as max_value,
                      min(metric_value) as min_value, count() as sample_count FROM seed_metrics
                      GROUP BY hour, metric_name""")
        for file_id in sorted({r[0] for r in wh.rows("SELECT source_file_id FROM website_metrics")}):
            wh.command("INSERT INTO seed_metrics SELECT * FROM website_metrics WHERE source_file_id = {f:UInt64}",
                       {"f": file_id})
        wh.command("OPTIMIZE TABLE seed_hourly FINAL")
        (seed,) = wh.rows("SELECT hour, metric_name, total_value, avg_value, max_value, min_value, sample_count "
                          "FROM seed_hourly")
    assert seed[2] == expected[0][2] and seed[6] == expected[0][6]  # sums survive merges...
    assert seed[3:6] != expected[0][3:6]  # ...avg, max and min are added up


def test_the_raw_tables_ttl_follows_the_setting(landing, clickhouse, monkeypatch):
    def ddl() -> str:
        return rows(clickhouse, "SELECT create_table_query FROM system.tables WHERE name = 'website_metrics' "
                                "AND database = currentDatabase()")[0][0]

    for days, expected in ((90, "TTL timestamp + toIntervalDay(90)"), (30, "TTL timestamp + toIntervalDay(30)"),
                           (0, None)):
        with clickhouse.get_client() as wh:
            ensure_tables(wh, days)
        assert (expected in ddl()) if expected else (" TTL " not in ddl())


def test_points_past_the_future_tolerance_are_quarantined(landing, clickhouse, monkeypatch):
    monkeypatch.setenv("ANALYTICS_WEB_FUTURE_TOLERANCE_MINUTES", "60")
    soon = datetime.now(timezone.utc).replace(microsecond=0)
    write_ndjson(landing, "a.ndjson", [
        point(soon.strftime("%Y-%m-%d %H:%M:%S"), "x", 1),
        point(soon.replace(year=soon.year + 1).strftime("%Y-%m-%d %H:%M:%S"), "x", 2)])
    result = load(clickhouse)
    assert rows(clickhouse, "SELECT metric_value FROM website_metrics") == [(1.0,)]
    assert "in the future" in rows(clickhouse, "SELECT reason FROM website_metrics_quarantine")[0][0]
    assert check_results(result)["website_metrics:timestamps_not_in_future"] is True


def test_many_files_load_in_several_batches_with_the_same_result(landing, clickhouse, monkeypatch):
    monkeypatch.setattr(landing_load, "BATCH_BYTES", 400)  # a batch per file or two
    batches = []
    real_load = landing_load._load
    monkeypatch.setattr(landing_load, "_load",
                        lambda wh, feed, files, **kw: batches.append(len(files)) or real_load(wh, feed, files, **kw))
    for i in range(5):
        write_ndjson(landing, f"f{i}.ndjson.gz", [point(f"2026-03-0{i + 1} 10:00:00", "x", float(i)),
                                                  point(f"2026-03-0{i + 1} 11:00:00", "x", 1.5)], gz=True)
    write_lines(landing, "f5.ndjson", ["oops", GOOD[0]])
    result = load(clickhouse)
    metadata = result.asset_materializations_for_node("website_metrics")[0].metadata
    assert (metadata["files_loaded"].value, metadata["rows_loaded"].value, metadata["rows_quarantined"].value) == (6, 11, 1)
    assert len(batches) >= 3 and sum(batches) == 6
    assert rows(clickhouse, "SELECT count(), sum(metric_value) FROM website_metrics") == [(11, 10 + 7.5 + 10)]
    assert rows(clickhouse, "SELECT uniqExact(run_id), countIf(status = 'loaded') FROM website_metrics_files") == [(1, 6)]
    assert all(check_results(result).values())
