"""The one way to change a published table: build aside, check, then swap or attach atomically.

Readers never see an empty or half-built table, and a failure (a check, an insert, a killed
process) leaves the previous version in place. Never `ALTER TABLE ... DELETE` to reload: that
is an asynchronous mutation and readers see empty tables (the original Airflow examples' bug).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from analytics_assets.identifiers import quote_identifier, validate_identifier

STAGING_PREFIX = "_staging_"
# Leftover staging tables (a killed process) older than this are dropped on the next build.
STALE_STAGING_HOURS = 24


def staging_name(table: str) -> str:
    return f"{STAGING_PREFIX}{validate_identifier(table, what='table')}_{uuid.uuid4().hex[:12]}"


def create_table_sql(table: str, body: str) -> str:
    """`CREATE TABLE <table> <body>`: `body` is columns + engine."""
    return f"CREATE TABLE {quote_identifier(table, what='table')} {body}"


def drop_stale_staging(wh) -> None:
    """Drop scratch tables a killed process left behind (older than STALE_STAGING_HOURS)."""
    stale = wh.rows(
        "SELECT name FROM system.tables WHERE database = {db:String} AND startsWith(name, {prefix:String})"
        " AND metadata_modification_time < now() - toIntervalHour({hours:UInt32})",
        {"db": wh.database, "prefix": STAGING_PREFIX, "hours": STALE_STAGING_HOURS},
    )
    for (name,) in stale:
        wh.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")


@contextmanager
def scratch_tables(wh, *purposes: str) -> Iterator[list[str]]:
    """Unique names for scratch tables (staging, sets, joins), dropped afterwards, failures
    included; leftovers of killed processes are swept first."""
    drop_stale_staging(wh)
    names = [staging_name(purpose) for purpose in purposes]
    try:
        yield names
    finally:
        for name in names:
            wh.command(f"DROP TABLE IF EXISTS {quote_identifier(name)}")


def replace_table(
    wh,
    table: str,
    build: Callable[[str], None],
    checks: Callable[[str], None] | None = None,
) -> None:
    """Build `table` anew: `build(staging)` creates and fills a staging table, `checks(staging)`
    may raise to refuse it, then `EXCHANGE TABLES` swaps it in atomically (or `RENAME` the first
    time). The old version is dropped after the swap; a new schema takes effect the same way."""
    with scratch_tables(wh, table) as (staging,):
        build(staging)
        if checks is not None:
            checks(staging)
        if wh.table_exists(table):
            wh.command(f"EXCHANGE TABLES {quote_identifier(table)} AND {quote_identifier(staging)}")
        else:
            wh.command(f"RENAME TABLE {quote_identifier(staging)} TO {quote_identifier(table)}")


def append_atomically(wh, table: str, fill: Callable[[str], None]) -> int:
    """Append rows to `table` all at once: `fill(staging)` a table of the same structure, then
    attach its parts to `table` partition by partition (each attach is atomic, no data copy).
    A failure before the attach leaves `table` untouched. Returns the rows appended."""
    with scratch_tables(wh, table) as (staging,):
        wh.command(f"CREATE TABLE {quote_identifier(staging)} AS {quote_identifier(table)}")
        fill(staging)
        partitions = wh.rows(
            "SELECT partition_id, sum(rows) FROM system.parts WHERE database = {db:String}"
            " AND table = {t:String} AND active GROUP BY partition_id ORDER BY partition_id",
            {"db": wh.database, "t": staging},
        )
        for partition_id, _ in partitions:
            wh.command(
                f"ALTER TABLE {quote_identifier(table)} ATTACH PARTITION ID {{pid:String}}"
                f" FROM {quote_identifier(staging)}",
                {"pid": partition_id},
            )
        return int(sum(rows for _, rows in partitions))


def markdown_preview(wh, table: str, limit: int = 10) -> str:
    """The first rows of a table as a Markdown table (for asset metadata in the UI)."""
    result = wh.query(f"SELECT * FROM {quote_identifier(table)} LIMIT {int(limit)}")
    header = "| " + " | ".join(result.column_names) + " |"
    rule = "|" + "---|" * len(result.column_names)
    rows = ["| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |"
            for row in result.result_rows]
    return "\n".join([header, rule, *rows])


def replace_partitions(
    wh,
    table: str,
    build: Callable[[str], None],
    partition_ids: list[str],
    checks: Callable[[str], None] | None = None,
) -> None:
    """Rebuild some partitions of `table`: `build(staging)` creates and fills a staging table
    of the same structure with rows for those partitions only, `checks(staging)` may refuse
    it, then each partition is swapped in with `REPLACE PARTITION` (atomic per partition; a
    partition the build left empty is dropped). Other partitions are not touched."""
    with scratch_tables(wh, table) as (staging,):
        build(staging)
        if checks is not None:
            checks(staging)
        if not wh.table_exists(table):
            wh.command(f"CREATE TABLE {quote_identifier(table)} AS {quote_identifier(staging)}")
        else:
            _same_structure(wh, table, staging)
        built = {pid for (pid,) in wh.rows(
            "SELECT DISTINCT partition_id FROM system.parts WHERE database = {db:String} AND table = {t:String}"
            " AND active", {"db": wh.database, "t": staging})}
        unexpected = built - set(partition_ids)
        if unexpected:
            raise ValueError(f"{table}: the build wrote partitions {sorted(unexpected)} outside {partition_ids}")
        for pid in partition_ids:
            action = f"REPLACE PARTITION ID {{pid:String}} FROM {quote_identifier(staging)}" if pid in built \
                else "DROP PARTITION ID {pid:String}"
            wh.command(f"ALTER TABLE {quote_identifier(table)} {action}", {"pid": pid})


def _same_structure(wh, table: str, staging: str) -> None:
    def columns(name: str) -> list[tuple]:
        return wh.rows("SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String}"
                       " ORDER BY position", {"db": wh.database, "t": name})
    if columns(table) != columns(staging):
        raise ValueError(
            f"{table}: the table's columns differ from what the code now builds; partitions cannot be swapped "
            f"into it. Rename or drop {table} and backfill every partition.")
