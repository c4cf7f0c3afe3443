"""The ingest jobs: the hourly incremental refresh and the daily content reconcile."""

from __future__ import annotations

import dagster as dg

from analytics_assets.ingest.assets import INGEST_GROUP, ReplicaConfig
from analytics_assets.ingest.sources import SOURCE_TABLES

# The hourly refresh runs the cheap checks (the blocking key gate, the flagged rows); those that scan
# whole tables (content against the source, orphan keys over every sale) run with the daily reconcile.
HOURLY_CHECKS = dg.AssetSelection.checks(
    *(dg.AssetCheckKey(dg.AssetKey(t.replica), name) for t in SOURCE_TABLES
      for name in ("source_keys_unique", "flagged_rows"))
)

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.groups(INGEST_GROUP).without_checks() | HOURLY_CHECKS,
    description="Bring the raw replicas up to date with the source (incremental).",
)

ingest_reconcile_job = dg.define_asset_job(
    "ingest_reconcile_job",
    selection=dg.AssetSelection.groups(INGEST_GROUP),
    config=dg.RunConfig(ops={table.replica: ReplicaConfig(reconcile=True) for table in SOURCE_TABLES}),
    description="ingest_job plus the content reconcile (every row compared with the source by hash; rows "
    "changed behind the watermark are read again, hard deletes disappear) and every replica check.",
)
