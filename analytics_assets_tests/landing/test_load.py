"""The landing machinery against hostile folders (issue 20), through a real run of a feed's asset
on the embedded engine: what is not a regular file inside the folder is refused unread and named;
a configured secret never reaches the quarantine; the quarantine's caps hold."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from analytics_assets.landing import files as landing_files
from analytics_assets.landing.files import LandingFileRefused
from analytics_assets.web.assets import website_metrics
from analytics_assets_tests.events.conftest import load_events
from analytics_assets_tests.web.conftest import check_results, load, rows
from analytics_assets_tests.operations.test_security import stored_run

GOOD = [json.dumps({"timestamp": f"2026-03-02 10:{i:02d}:00", "metric_name": "pageviews", "metric_value": i})
        for i in range(30)]
SMTP_PASSWORD = "smtpPw-9f3a-landing-secret"
PG_PASSWORD = "pgPw/landing 41c2"  # URL-encoded in the DSN: pgPw%2Flanding%2041c2
LONG_TOKEN = "apiTok-" + "0123456789abcdef" * 4  # longer than the 40 bytes a reason quotes
OUTSIDE_TOKEN = "outside-only-7c1e"


@pytest.fixture
def web_landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYTICS_WEB_TTL_DAYS", "0")
    folder = tmp_path / "data" / "landing" / "web"
    folder.mkdir(parents=True)
    return folder


def lines(*items: str) -> bytes:
    return "".join(item + "\n" for item in items).encode()


def everything_stored(clickhouse) -> str:
    """Every row of every table of the warehouse, as text."""
    with clickhouse.get_client() as wh:
        tables = [name for (name,) in wh.rows("SELECT name FROM system.tables WHERE database = {db:String}"
                                              " AND engine NOT IN ('View', 'MaterializedView')", {"db": wh.database})]
        return "\n".join(wh.raw_query(f"SELECT * FROM `{t}`", fmt="TSV").decode(errors="replace") for t in tables)


def test_links_fifos_and_hard_links_in_the_folder_are_refused_named_and_never_read(web_landing, clickhouse, tmp_path,
                                                                                    monkeypatch):
    """An attacker who can write into the landing folder only: links to the run's environment and
    to files outside, a FIFO (which would hang a reader), a hard link. The run succeeds, loads the
    good file, and names each of the others in the registry and the check, unread."""
    monkeypatch.setenv("ANALYTICS_SMTP_PASSWORD", SMTP_PASSWORD)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ndjson").write_text(f"{OUTSIDE_TOKEN}\n{GOOD[0]}\n")
    (web_landing / "good.ndjson").write_bytes(lines(*GOOD[:3]))
    (web_landing / "env.ndjson").symlink_to("/proc/self/environ")
    (web_landing / "passwd.csv").symlink_to("/etc/passwd")
    (web_landing / "link-file.ndjson").symlink_to(outside / "secret.ndjson")
    (web_landing / "link-dir.ndjson").symlink_to(outside)
    os.mkfifo(web_landing / "fifo.ndjson")
    os.link(outside / "secret.ndjson", web_landing / "hard.ndjson")
    refused = ["env.ndjson", "fifo.ndjson", "hard.ndjson", "link-dir.ndjson", "link-file.ndjson", "passwd.csv"]

    result = load(clickhouse)
    registry = rows(clickhouse, "SELECT file_name, status, file_size, rows_loaded, source_file_id = 0"
                                " FROM website_metrics_files FINAL ORDER BY file_name")
    assert registry == sorted([("good.ndjson", "loaded", len(lines(*GOOD[:3])), 3, False)]
                              + [(name, "refused", 0, 0, True) for name in refused])  # nothing read: no size, no id
    details = dict(rows(clickhouse, "SELECT file_name, detail FROM website_metrics_files FINAL"
                                    " WHERE status = 'refused'"))
    assert details["env.ndjson"].startswith("env.ndjson: refused: a symbolic link (to /proc/self/environ)")
    assert details["fifo.ndjson"].startswith("fifo.ndjson: refused: a FIFO (named pipe), not a regular file")
    assert details["hard.ndjson"].startswith("hard.ndjson: refused: a regular file with 2 hard links")
    assert rows(clickhouse, "SELECT count() FROM website_metrics_quarantine") == [(0,)]
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(3,)]
    check = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.check_name == "landing_files_accepted")
    assert not check.passed and check.metadata["refused"].value == ", ".join(refused)
    stored = everything_stored(clickhouse)
    assert OUTSIDE_TOKEN not in stored and SMTP_PASSWORD not in stored and "root:x:0:0" not in stored

    # A second run names them again (they are still there) and loads nothing twice.
    again = load(clickhouse)
    assert check_results(again)["website_metrics:landing_files_accepted"] is False
    assert rows(clickhouse, "SELECT count() FROM website_metrics") == [(3,)]


def test_a_file_swapped_for_a_symlink_after_it_was_hashed_is_refused_before_its_lines_are_read(
        web_landing, clickhouse, tmp_path, monkeypatch):
    """The swap lands between the hash (first open) and the read (second open): the read refuses
    it and the registry says so; the link's target is never read."""
    outside = tmp_path / "secret.ndjson"
    outside.write_text(f"{OUTSIDE_TOKEN}\n")
    (web_landing / "swapped.ndjson").write_bytes(lines(*GOOD[:2]))
    real_sha256 = landing_files.sha256

    def hash_then_swap(file):
        digest = real_sha256(file)
        file.path.unlink()
        file.path.symlink_to(outside)
        return digest

    from analytics_assets.landing import load as landing_load

    monkeypatch.setattr(landing_load, "sha256", hash_then_swap)
    result = load(clickhouse)
    ((status, detail),) = rows(clickhouse, "SELECT status, detail FROM website_metrics_files FINAL")
    assert status == "refused" and detail.startswith(
        "swapped.ndjson: refused: replaced by a symbolic link after the folder was listed")
    assert check_results(result)["website_metrics:landing_files_accepted"] is False
    assert OUTSIDE_TOKEN not in everything_stored(clickhouse)
    with pytest.raises(LandingFileRefused):  # and the listing now refuses it outright
        real_sha256(landing_files.list_landing_files(web_landing)[0])


def test_a_quarantined_line_holding_a_configured_secret_is_stored_masked_and_the_check_says_so(
        web_landing, clickhouse, monkeypatch):
    monkeypatch.setenv("ANALYTICS_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("ANALYTICS_POSTGRES_DSN", "postgresql://analytics:pgPw%2Flanding%2041c2@db.internal:5432/sales")
    monkeypatch.setenv("ANALYTICS_API_TOKENS", f"reporting:{LONG_TOKEN}")
    monkeypatch.setenv("ANALYTICS_WEB_MAX_BAD_ROWS_PCT", "50")
    bad = [
        f"ANALYTICS_SMTP_PASSWORD={SMTP_PASSWORD}",  # an environment dump
        "ANALYTICS_POSTGRES_DSN=postgresql://analytics:pgPw%2Flanding%2041c2@db.internal:5432/sales",
        json.dumps({"timestamp": "2026-03-02 11:00:00", "metric_name": "x", "metric_value": SMTP_PASSWORD}),
        json.dumps({"timestamp": "2026-03-02 11:00:00", "metric_name": "x", "metric_value": "ab" + LONG_TOKEN}),
        json.dumps({"timestamp": "2026-03-02 11:00:00", "metric_name": "x", "metric_value": PG_PASSWORD}),
        "no secret here",
    ]
    (web_landing / "leaky.ndjson").write_bytes(lines(*GOOD, *bad))
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([website_metrics], resources={"clickhouse": clickhouse}, instance=instance)
        run_texts = stored_run(instance, result.run_id)

    quarantined = rows(clickhouse, "SELECT line_no, line, reason, secret_masked FROM website_metrics_quarantine"
                                   " ORDER BY line_no")
    assert [(n, flag) for n, _, _, flag in quarantined] == [(31, 1), (32, 1), (33, 1), (34, 1), (35, 1), (36, 0)]
    assert quarantined[0][1] == "ANALYTICS_SMTP_PASSWORD=***"
    assert quarantined[1][1] == "ANALYTICS_POSTGRES_DSN=postgresql://analytics:***@db.internal:5432/sales"
    assert quarantined[2][2] == 'metric_value "***" is not a number'
    assert quarantined[3][2] == 'metric_value "ab***" is not a number'  # the quoted 40 bytes end inside the token
    assert quarantined[4][2] == 'metric_value "***" is not a number' and '"metric_value": "***"' in quarantined[4][1]
    assert quarantined[5][1:3] == ("no secret here", "not valid JSON")
    ((detail,),) = rows(clickhouse, "SELECT detail FROM website_metrics_files FINAL")
    assert "6 bad rows quarantined" in detail and "5 quarantined lines held a configured secret" in detail
    check = next(e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                 and e.event_specific_data.check_name == "landing_files_accepted")
    assert not check.passed and check.metadata["secret_lines_masked"].value == 5
    assert "leaky.ndjson: 6 bad rows quarantined" in check.metadata["files"].value
    texts = [everything_stored(clickhouse), *run_texts]  # the tables, and the run's events, logs and metadata
    for secret in (SMTP_PASSWORD, PG_PASSWORD, "pgPw%2Flanding%2041c2", LONG_TOKEN, LONG_TOKEN[:20]):
        assert not any(secret in text for text in texts), secret


def test_event_files_share_the_masking(tmp_path, clickhouse, monkeypatch):
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYTICS_EVENTS_TTL_DAYS", "0")
    monkeypatch.setenv("ANALYTICS_BI_PASSWORD", "biPw-events-5d77")
    folder = tmp_path / "data" / "landing" / "events"
    folder.mkdir(parents=True)
    event = {"event_time": "2026-03-02T10:00:00Z", "event_name": "view", "user_id": "u1"}
    (folder / "e.ndjson").write_bytes(lines(*[json.dumps(event)] * 20, json.dumps({**event, "user_id": ""})
                                            + " biPw-events-5d77"))
    load_events(clickhouse)
    assert rows(clickhouse, "SELECT line, secret_masked FROM product_events_quarantine") == [
        (json.dumps({**event, "user_id": ""}) + " ***", 1)]


def test_the_quarantine_keeps_the_first_rows_of_a_file_each_cut_at_the_cap(web_landing, clickhouse, monkeypatch):
    monkeypatch.setenv("ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES", "64")
    monkeypatch.setenv("ANALYTICS_LANDING_QUARANTINE_MAX_ROWS_PER_FILE", "3")
    monkeypatch.setenv("ANALYTICS_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("ANALYTICS_WEB_MAX_BAD_ROWS_PCT", "50")
    across = "x" * 60 + SMTP_PASSWORD + "y" * 1000  # the secret straddles the cut
    bad = ["z" * 100_000, across, *[f"bad {i}" for i in range(8)]]
    (web_landing / "big.ndjson").write_bytes(lines(*GOOD, *bad))
    load(clickhouse)
    quarantined = rows(clickhouse, "SELECT line_no, line, line_bytes, secret_masked FROM website_metrics_quarantine"
                                   " ORDER BY line_no")
    assert [(n, size, flag) for n, _, size, flag in quarantined] == [(31, 100_000, 0), (32, len(across), 1), (33, 5, 0)]
    assert quarantined[0][1] == "z" * 64 + " ... [cut at 64 of 100000 bytes: ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES]"
    assert quarantined[1][1].startswith("x" * 60 + "*") and "smtp" not in quarantined[1][1]
    assert quarantined[2][1] == "bad 0"
    assert rows(clickhouse, "SELECT status, rows_loaded, rows_quarantined, detail FROM website_metrics_files FINAL") == [
        ("loaded", 30, 10, "10 bad rows quarantined, e.g. line 31: not valid JSON; only the first 3 bad rows kept in "
                           "the quarantine (ANALYTICS_LANDING_QUARANTINE_MAX_ROWS_PER_FILE); 1 quarantined lines held "
                           "a configured secret (password, DSN password, API token), stored masked")]
