"""Turn a validated spec into a ClickHouse datamart: ClickHouse's verdict on the query, the
table's DDL (one helper for tables and views), its gates, and the atomic refresh."""

from __future__ import annotations

from analytics_assets.datamarts.spec import DatamartSpec
from analytics_assets.warehouse.guards import require_complete
from analytics_assets.identifiers import quote_identifier, validate_identifier
from analytics_assets.warehouse.sql_table_asset import Gate, run_gates, unique_key
from analytics_assets.warehouse.tables import replace_table


def subquery(spec: DatamartSpec) -> str:
    """The user's SELECT as a subquery: nothing after it can become a second statement, and a
    trailing `--` comment cannot swallow the closing parenthesis."""
    return f"(\n{spec.query}\n)"


def used(spec: DatamartSpec, params: dict) -> dict:
    """The logical-time parameters the query uses (`{as_of:DateTime64(6, 'UTC')}`, `{as_of_date:Date32}`)."""
    return {k: v for k, v in params.items() if "{" + k + ":" in spec.query}


def query_columns(wh, spec: DatamartSpec, params: dict) -> list[tuple[str, str]]:
    """(name, type) of the query's result, as ClickHouse sees it (nothing is executed)."""
    return [(name, kind) for name, kind, *_ in wh.rows(f"DESCRIBE TABLE {subquery(spec)}", used(spec, params))]


def verify(wh, spec: DatamartSpec, params: dict) -> list[tuple[str, str]]:
    """ClickHouse's objections, as (field, message): the query must be one SELECT that
    `EXPLAIN` accepts, its columns plain identifiers, and every column the spec names must exist."""
    try:
        ast = wh.rows(f"EXPLAIN AST {spec.query}", used(spec, params))
    except Exception as exc:  # the server's message says what is wrong
        return [("query", f"ClickHouse rejected it: {_first_line(exc)}")]
    if not ast or not ast[0][0].startswith("SelectWithUnionQuery"):
        return [("query", "ClickHouse does not read it as a single SELECT")]
    try:
        columns = query_columns(wh, spec, params)
    except Exception as exc:
        return [("query", f"ClickHouse rejected it: {_first_line(exc)}")]
    problems = []
    names = [name for name, _ in columns]
    for name in names:
        try:
            validate_identifier(name)
        except ValueError:
            problems.append(("query", f"result column {name!r} is not a plain identifier: name it with AS"))
    if len(set(names)) != len(names):
        problems.append(("query", "result column names repeat"))
    wanted = [("indexes", c) for c in spec.sort_key] + [("indexes.skip", i.column) for i in spec.skip_indexes]
    wanted += [("checks.not_null", c) for c in spec.checks.not_null]
    wanted += [("checks.unique_key", c) for c in spec.checks.unique_key]
    if spec.partition_by:
        wanted.append(("partition_by", spec.partition_by.rstrip(")").split("(")[-1]))
    for field_name, column in wanted:
        if column not in names:
            problems.append((field_name, f"{column!r} is not a column of the query ({', '.join(names)})"))
    return problems


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    for marker in ("DB::Exception: ", "Exception: "):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    return text.splitlines()[0][:400]


def create_sql(spec: DatamartSpec, table: str, columns: list[tuple[str, str]]) -> str:
    """The datamart's DDL: its columns as the query makes them, sort key, skip indexes, partitions."""
    target = quote_identifier(table, what="table")
    if not spec.stored:
        return f"CREATE VIEW {target} AS SELECT * FROM {subquery(spec)}"
    parts = [f"{quote_identifier(name)} {kind}" for name, kind in columns]
    parts += [f"INDEX {quote_identifier('skip_' + i.column)} {quote_identifier(i.column)} TYPE {i.type}"
              f" GRANULARITY {int(i.granularity)}" for i in spec.skip_indexes]
    order = ", ".join(quote_identifier(c) for c in spec.sort_key) or ""
    key_columns = set(spec.sort_key) | ({spec.partition_by.rstrip(")").split("(")[-1]} if spec.partition_by else set())
    nullable_key = any("Nullable(" in kind for name, kind in columns if name in key_columns)
    ddl = f"CREATE TABLE {target} ({', '.join(parts)}) ENGINE = MergeTree"
    if spec.partition_by:  # matched PARTITION_BY: a known function of one validated column
        function, _, column = spec.partition_by.rstrip(")").rpartition("(")
        column_sql = quote_identifier(column)
        ddl += f" PARTITION BY {function}({column_sql})" if function else f" PARTITION BY {column_sql}"
    ddl += f" ORDER BY ({order})"
    if nullable_key:
        ddl += " SETTINGS allow_nullable_key = 1"
    return ddl


def gates(spec: DatamartSpec) -> tuple[Gate, ...]:
    """The spec's declarative checks, as gates run on the new version before it is swapped in."""
    found: list[Gate] = []
    if spec.checks.min_rows:
        found.append(Gate("min_rows", f"At least {spec.checks.min_rows} rows.",
                          f"SELECT count() < {int(spec.checks.min_rows)}, concat(toString(count()), ' rows')"
                          " FROM $target"))
    for column in spec.checks.not_null:
        found.append(Gate(f"{column}_not_null", f"{column} is never NULL.",
                          f"SELECT countIf({quote_identifier(column)} IS NULL), '' FROM $target"))
    if spec.checks.unique_key:
        found.append(unique_key(*(quote_identifier(c) for c in spec.checks.unique_key)))
    return tuple(found)


def refresh(wh, spec: DatamartSpec, params: dict, results: list) -> None:
    """Build aside, gate, swap in (`EXCHANGE TABLES`): readers see the old version until the new
    one is complete and checked, and keep it if anything fails."""
    require_complete(wh, spec.tables)  # a missing source names its job; a part-applied one keeps ours
    problems = verify(wh, spec, params)
    if problems:
        raise ValueError(f"{spec.source or spec.name}: " + "; ".join(f"{f}: {m}" for f, m in problems))
    columns = query_columns(wh, spec, params)

    def build(staging: str) -> None:
        if spec.stored:
            wh.command(create_sql(spec, staging, columns))
            wh.command(f"INSERT INTO {quote_identifier(staging)} SELECT * FROM {subquery(spec)}", used(spec, params))
        else:  # a view keeps the logical time it was created with
            wh.command(create_sql(spec, staging, columns), used(spec, params))

    def check(staging: str) -> None:
        run_gates(wh, gates(spec), staging, params, results)

    replace_table(wh, spec.name, build, check)
