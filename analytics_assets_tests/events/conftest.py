"""Event landing folders, event files and events runs on the embedded engine."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from analytics_assets.events.assets import product_events


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$ANALYTICS_DATA_DIR/landing/events in a temp dir; TTL off so old test dates stay."""
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYTICS_EVENTS_TTL_DAYS", "0")
    folder = tmp_path / "data" / "landing" / "events"
    folder.mkdir(parents=True)
    return folder


def event(t: str, name: str, user: str, session: str = "", customer=None, **properties) -> dict:
    row = {"event_time": t, "event_name": name, "user_id": user, "session_id": session, "properties": properties}
    if customer is not None:
        row["customer_id"] = customer
    return row


def write_events(folder: Path, name: str, rows: list[dict]) -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def load_events(clickhouse, *, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    """One run of the loading asset (and its checks)."""
    return dg.materialize([product_events], resources={"clickhouse": clickhouse}, raise_on_error=raise_on_error)


def rows(clickhouse, sql: str, parameters=None) -> list[tuple]:
    with clickhouse.get_client() as wh:
        return wh.rows(sql, parameters)
