"""Landing folders, metric files and web runs on the embedded engine."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from analytics_assets.logical_time import AS_OF_TAG
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets.web.analyses import analysis_assets
from analytics_assets.web.assets import website_metrics

WEB = [website_metrics, *analysis_assets]


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$ANALYTICS_DATA_DIR/landing/web in a temp dir; ClickHouse TTL off so old test dates stay."""
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYTICS_WEB_TTL_DAYS", "0")
    folder = tmp_path / "data" / "landing" / "web"
    folder.mkdir(parents=True)
    return folder


def point(ts: str, name: str, value, **dimensions) -> dict:
    return {"timestamp": ts, "metric_name": name, "metric_value": value, "dimensions": dimensions, "tags": ["t"]}


def write_ndjson(folder: Path, name: str, rows: list[dict], *, gz: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path = folder / name
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def write_lines(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def load(clickhouse, *, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    """One run of the loading asset (and its checks)."""
    return dg.materialize([website_metrics], resources={"clickhouse": clickhouse}, raise_on_error=raise_on_error)


def analyse(clickhouse, first_day: str, last_day: str | None = None, *, as_of: datetime | None = None,
            selection=None, raise_on_error: bool = True, smtp: SmtpResource | None = None) -> dg.ExecuteInProcessResult:
    """The analyses for days [first_day, last_day] in one run (a single-run backfill); anomaly
    alerts go through `smtp` (by default one that is not set up)."""
    tags = {"dagster/asset_partition_range_start": first_day,
            "dagster/asset_partition_range_end": last_day or first_day}
    if as_of is not None:
        tags[AS_OF_TAG] = as_of.isoformat()
    return dg.materialize(WEB, resources={"clickhouse": clickhouse, "smtp": smtp or SmtpResource()}, tags=tags,
                          selection=selection or [a.key for a in analysis_assets], raise_on_error=raise_on_error)


def rows(clickhouse, sql: str, parameters=None) -> list[tuple]:
    with clickhouse.get_client() as wh:
        return wh.rows(sql, parameters)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {f"{e.event_specific_data.asset_key.to_user_string()}:{e.event_specific_data.check_name}":
            e.event_specific_data.passed
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
