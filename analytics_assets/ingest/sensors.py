"""Launch ingest_job when the source moved. Asks PostgreSQL only: a sensor never opens chDB."""

import dagster as dg
from psycopg import sql

from analytics_assets.ingest.jobs import ingest_job
from analytics_assets.ingest.sources import SOURCE_TABLES, VERSION_COLUMN
from analytics_assets.resources import PostgresResource


def source_high_water_mark(postgres: PostgresResource) -> str | None:
    """The newest updated_at across the source tables (ISO text), or None when they are empty."""
    parts = [
        sql.SQL("(SELECT max({v}) FROM {s}.{t})").format(
            v=sql.Identifier(VERSION_COLUMN), s=sql.Identifier(postgres.source_schema),
            t=sql.Identifier(t.name))
        for t in SOURCE_TABLES
    ]
    with postgres.connect() as conn:
        value = conn.execute(sql.SQL("SELECT greatest({})").format(sql.SQL(", ").join(parts))).fetchone()[0]
    return value.isoformat() if value else None


def build_source_changed_sensor(name: str, job, description: str) -> dg.SensorDefinition:
    """A sensor requesting `job` each time the source's max(updated_at) moves past the last one seen."""

    @dg.sensor(name=name, job=job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
               description=description)
    def source_changed(context: dg.SensorEvaluationContext, postgres: PostgresResource):
        mark = source_high_water_mark(postgres)
        if mark is None:
            return dg.SkipReason("the source tables are empty")
        if mark == context.cursor:
            return dg.SkipReason(f"no source change since {mark}")
        context.update_cursor(mark)
        return dg.RunRequest(run_key=f"source-{mark}", tags={"analytics/source_high_water_mark": mark})

    return source_changed


source_changed_sensor = build_source_changed_sensor(
    "source_changed_sensor", ingest_job,
    "Requests an ingest run each time the source's max(updated_at) moves past the last one seen.")
