"""What every landing feed's asset reports: its common checks and its load metadata."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from analytics_assets.landing.load import LandingFeed, LoadReport, files_loaded_once
from analytics_assets.identifiers import quote_identifier


def landing_check_specs(feed: LandingFeed) -> list[dg.AssetCheckSpec]:
    """Not in the future, each file once (blocking); every file accepted (an error, not blocking:
    a bad file is quarantined or kept aside, the others are good)."""
    return [
        dg.AssetCheckSpec("timestamps_not_in_future", asset=feed.table, blocking=True,
                          description=f"No {feed.time_column} is later than the load time plus the tolerance."),
        dg.AssetCheckSpec("files_loaded_once", asset=feed.table, blocking=True,
                          description="The registry holds each file content once, each name once, and every row's "
                                      "file is registered."),
        dg.AssetCheckSpec("landing_files_accepted", asset=feed.table, blocking=False,
                          description="No landing file was rejected (too many bad rows, unreadable) or refused "
                                      "(changed after loading; not a regular file inside the folder: a symbolic "
                                      "link, a FIFO, a device, a hard link), and no quarantined line held a "
                                      "configured secret (stored masked)."),
    ]


def landing_check_results(wh, feed: LandingFeed, report: LoadReport, latest: datetime) -> list[dg.AssetCheckResult]:
    time = quote_identifier(feed.time_column)
    future, newest = wh.rows(f"SELECT countIf({time} > {{latest:DateTime('UTC')}}), toString(max({time}))"
                             f" FROM {quote_identifier(feed.table)}", {"latest": latest})[0]
    duplicates, duplicates_detail = files_loaded_once(wh, feed)
    bad_files = [f for f in report.files if f.status in ("rejected", "refused") or f.secrets_masked]
    return [
        dg.AssetCheckResult(asset_key=feed.table, check_name="timestamps_not_in_future", passed=future == 0,
                            metadata={"rows_in_future": int(future), "newest": newest, "bound": latest.isoformat()}),
        dg.AssetCheckResult(asset_key=feed.table, check_name="files_loaded_once", passed=duplicates == 0,
                            metadata={"problems": int(duplicates), "detail": duplicates_detail}),
        dg.AssetCheckResult(asset_key=feed.table, check_name="landing_files_accepted", passed=not bad_files,
                            severity=dg.AssetCheckSeverity.ERROR,
                            metadata={"files": "; ".join(f"{f.name}: {f.detail}" for f in bad_files)[:4000],
                                      "refused": ", ".join(f.name for f in report.having("refused"))[:4000],
                                      "secret_lines_masked": sum(f.secrets_masked for f in report.files)}),
    ]


def log_outcomes(context, report: LoadReport) -> None:
    for name in report.recovered:
        context.log.warning(f"{name}: an earlier load stopped part-way; its rows were taken out and it loads again")
    for outcome in report.files:
        if outcome.status in ("rejected", "refused"):
            context.log.error(f"{outcome.name}: {outcome.status}: {outcome.detail}")
        elif outcome.secrets_masked:
            context.log.error(f"{outcome.name}: {outcome.detail}")


def load_metadata(report: LoadReport, folder, row_count: int, duration_s: float) -> dict:
    touched = report.touched_range()
    return {
        "dagster/row_count": row_count,
        "landing_folder": str(folder),
        "files_loaded": len(report.having("loaded")),
        "files_skipped": len(report.having("skipped")),
        "files_rejected": len(report.having("rejected", "refused")),
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        # the loaded-days sensors read these: which days a late or backfill file touched
        "first_day_loaded": touched[0].date().isoformat() if touched else "",
        "first_time_loaded": touched[0].replace(tzinfo=timezone.utc).isoformat() if touched else "",
        "last_day_loaded": touched[1].date().isoformat() if touched else "",
        "files": dg.MetadataValue.md(_files_table(report)),
        "duration_s": round(duration_s, 3),
    }


def _files_table(report: LoadReport) -> str:
    lines = ["| file | status | rows loaded | rows quarantined | detail |", "|---|---|---:|---:|---|"]
    for f in report.files[:200]:
        lines.append(f"| {f.name} | {f.status} | {f.rows_loaded} | {f.rows_quarantined} | {f.detail.replace('|', '/')} |")
    if len(report.files) > 200:
        lines.append(f"| ... {len(report.files) - 200} more | | | | |")
    return "\n".join(lines)
