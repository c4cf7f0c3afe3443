"""source_changed_sensor asks PostgreSQL (never ClickHouse) and fires once per source change."""

from __future__ import annotations

import dagster as dg

from analytics_assets.demo import generator
from analytics_assets.ingest.sensors import source_changed_sensor
from analytics_assets.resources import PostgresResource
from analytics_assets_tests.ingest.conftest import AS_OF, execute


def evaluate(pg: PostgresResource, cursor: str | None):
    context = dg.build_sensor_context(cursor=cursor, resources={"postgres": pg})
    return source_changed_sensor(context), context.cursor


def test_fires_when_the_source_moves_and_only_then(pg_dsn):
    pg = PostgresResource(dsn=pg_dsn)
    generator.create_schema(pg_dsn)
    skipped, _ = evaluate(pg, None)
    assert isinstance(skipped, dg.SkipReason) and "empty" in skipped.skip_message

    generator.generate(pg_dsn, customers=100, products=10, sales=500, seed=1, as_of=AS_OF)
    request, cursor = evaluate(pg, None)
    assert isinstance(request, dg.RunRequest) and cursor is not None
    assert request.run_key == f"source-{cursor}"

    again, same_cursor = evaluate(pg, cursor)
    assert isinstance(again, dg.SkipReason) and same_cursor == cursor

    generator.apply_activity(pg_dsn, seed=2)
    moved, new_cursor = evaluate(pg, cursor)
    assert isinstance(moved, dg.RunRequest) and new_cursor > cursor
