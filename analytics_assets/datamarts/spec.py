"""Datamart spec files: the original Airflow examples' REST payload, as YAML, validated field by field.

A spec is one YAML file named after the datamart. Its fields are the original Airflow examples' payload fields
(`name`, `type`, `refresh_strategy`, `refresh_schedule`, `query`, `description`, `indexes`) plus
`refresh_mode`, `owners`, `partition_by`, `checks` and `excel` (true, or the export's
`include_charts`/`include_summary`). What each means is in
README.md ("Declarative datamarts"). Validation here is static (no database); the CLI adds
ClickHouse's own verdict (`EXPLAIN`). Every problem names its field.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlglot
import yaml
from sqlglot import exp

from analytics_assets.spec_files import FieldReader, SpecFileError, load_spec_file, load_spec_folders
from analytics_assets.identifiers import validate_identifier

TYPES = ("table", "view", "materialized_view")
REFRESH_STRATEGIES = ("scheduled", "manual", "on_upstream_change")
# Readers never see an empty or partial datamart: staging + EXCHANGE is the only way we refresh.
REFRESH_MODES = ("concurrent",)
FIELDS = ("name", "type", "refresh_strategy", "refresh_schedule", "query", "description", "indexes", "refresh_mode",
          "owners", "partition_by", "checks", "excel")
# Table functions a datamart may use: they read nothing outside the query.
SAFE_TABLE_FUNCTIONS = {"numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateseries", "values"}
FORBIDDEN_DATABASES = {"system", "information_schema"}
READING_FUNCTIONS = {"file"}  # scalar functions that read the server's files
PARTITION_BY = re.compile(
    r"^(?:(?P<fn>toYYYYMM|toYYYYMMDD|toStartOfMonth|toStartOfWeek|toMonday|toYear|toDate)\()?"
    r"(?P<col>[A-Za-z_][A-Za-z0-9_]*)(?(fn)\))$")
SKIP_INDEX_TYPE = re.compile(r"^(?:minmax|set\((?:[1-9][0-9]{0,5})\)|bloom_filter(?:\(0?\.[0-9]{1,4}\))?)$")
OWNER = re.compile(r"^(?:team:[A-Za-z0-9_-]{1,64}|[^@\s]{1,64}@[^@\s]{1,128}\.[A-Za-z]{2,24})$")


@dataclass(frozen=True)
class SkipIndex:
    column: str
    type: str = "minmax"
    granularity: int = 4


@dataclass(frozen=True)
class ExcelOptions:
    """The kept workbook's parts (the seed's export flags)."""

    include_charts: bool = True
    include_summary: bool = True


@dataclass(frozen=True)
class Checks:
    min_rows: int = 0
    not_null: tuple[str, ...] = ()
    unique_key: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatamartSpec:
    name: str
    query: str
    type: str = "table"
    refresh_strategy: str = "manual"
    refresh_schedule: str | None = None
    description: str = ""
    sort_key: tuple[str, ...] = ()
    skip_indexes: tuple[SkipIndex, ...] = ()
    refresh_mode: str = "concurrent"
    owners: tuple[str, ...] = ()
    partition_by: str | None = None
    checks: Checks = field(default_factory=Checks)
    excel: ExcelOptions | None = None  # None: no workbook kept
    tables: tuple[str, ...] = ()  # what the query reads (inferred)
    source: str = ""  # the file it came from

    @property
    def stored(self) -> bool:
        return self.type != "view"

    def to_yaml(self) -> str:
        """The spec as a file: the original Airflow examples' field names, only what differs from the defaults."""
        data: dict = {"name": self.name, "type": self.type, "refresh_strategy": self.refresh_strategy}
        if self.refresh_schedule:
            data["refresh_schedule"] = self.refresh_schedule
        if self.description:
            data["description"] = self.description
        if self.skip_indexes:
            data["indexes"] = {"sort_key": list(self.sort_key), "skip": [asdict(i) for i in self.skip_indexes]}
        elif self.sort_key:
            data["indexes"] = list(self.sort_key)
        if self.refresh_mode != "concurrent":
            data["refresh_mode"] = self.refresh_mode
        if self.owners:
            data["owners"] = list(self.owners)
        if self.partition_by:
            data["partition_by"] = self.partition_by
        checks = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self.checks).items() if v}
        if checks:
            data["checks"] = checks
        if self.excel == ExcelOptions():
            data["excel"] = True
        elif self.excel:
            data["excel"] = asdict(self.excel)
        data["query"] = _Literal(self.query.strip() + "\n")
        return yaml.dump(data, sort_keys=False, allow_unicode=True, width=100, Dumper=_Dumper)


class _Literal(str):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|"))


class SpecError(SpecFileError):
    """Everything wrong with one datamart spec."""


def load_spec(path: Path) -> DatamartSpec:
    return load_spec_file(path, parse_spec, SpecError)


def parse_spec(data, *, source: str) -> DatamartSpec:
    """A validated spec from a mapping (a YAML document or the CLI's options)."""
    reader = FieldReader(data, source=source, known=FIELDS, error=SpecError)
    problems = reader.problems

    def text(key: str, *, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                problems.append((key, "is required"))
            return None
        if not isinstance(value, str) or not value.strip():
            problems.append((key, "must be a non-empty string"))
            return None
        return value.strip()

    def identifiers(key: str, values, *, what: str) -> tuple[str, ...]:
        if values is None:
            return ()
        if isinstance(values, str):
            values = [v.strip() for v in values.split(",") if v.strip()]
        if not isinstance(values, list):
            problems.append((key, "must be a list of column names"))
            return ()
        good = []
        for value in values:
            try:
                good.append(validate_identifier(value, what=f"{key}"))
            except ValueError as exc:
                problems.append((key, f"{what} {str(exc).split(': ', 1)[-1]}"))
        return tuple(good)

    name = text("name", required=True)
    if name is not None:
        try:
            validate_identifier(name, what="name")
            if name.startswith("_"):
                raise ValueError("name: must not start with '_' (reserved for scratch tables)")
            if name.startswith("bi_"):
                raise ValueError("name: must not start with 'bi_' (reserved for the BI views, bi_<datamart>)")
        except ValueError as exc:
            problems.append(("name", str(exc).split(": ", 1)[-1]))
            name = None
    kind = reader.choice("type", TYPES, "table")
    strategy = reader.choice("refresh_strategy", REFRESH_STRATEGIES, "manual")
    mode = reader.choice("refresh_mode", REFRESH_MODES, "concurrent")
    schedule = text("refresh_schedule")
    if schedule is not None:
        schedule = reader.cron("refresh_schedule", schedule)
    if strategy == "scheduled" and schedule is None and not any(f == "refresh_schedule" for f, _ in problems):
        problems.append(("refresh_schedule", "is required when refresh_strategy is scheduled"))
    description = data.get("description") or ""
    if not isinstance(description, str):
        problems.append(("description", "must be a string"))
        description = ""

    query = text("query", required=True)
    tables: tuple[str, ...] = ()
    if query is not None:
        tables, query_problems = inspect_query(query)
        problems += [("query", p) for p in query_problems]

    sort_key, skip = _indexes(data.get("indexes"), problems, identifiers)
    owners = data.get("owners") or []
    if isinstance(owners, str):
        owners = [owners]
    if not isinstance(owners, list) or not all(isinstance(o, str) and OWNER.match(o) for o in owners):
        problems.append(("owners", "must be a list of e-mail addresses or team:<name>"))
        owners = []
    partition_by = text("partition_by")
    if partition_by is not None and not PARTITION_BY.match(partition_by):
        problems.append(("partition_by", f"{partition_by!r} must be a column, or toYYYYMM(column) and the like "
                                         "(toYYYYMMDD, toStartOfMonth, toStartOfWeek, toMonday, toYear, toDate)"))
        partition_by = None
    if kind == "view" and (partition_by or sort_key or skip):
        problems.append(("type", "a view stores nothing: indexes and partition_by apply to table and "
                                 "materialized_view only"))
    if kind == "view" and query is not None and "{as_of" in query:
        problems.append(("query", "a view is always current: it cannot use the run's logical time ({as_of...})"))
    checks = _checks(data.get("checks"), problems, identifiers)
    excel = _excel(data.get("excel"), problems)
    if problems:
        raise SpecError(source, problems)
    return DatamartSpec(name=name, query=query, type=kind, refresh_strategy=strategy, refresh_schedule=schedule,
                        description=description.strip(), sort_key=sort_key, skip_indexes=skip, refresh_mode=mode,
                        owners=tuple(owners), partition_by=partition_by, checks=checks, excel=excel, tables=tables,
                        source=source)


def _indexes(value, problems, identifiers) -> tuple[tuple[str, ...], tuple[SkipIndex, ...]]:
    """The original Airflow examples' `indexes` (a list of columns: the sort key), or {sort_key: [...], skip: [...]}."""
    if value is None or isinstance(value, (list, str)):
        return identifiers("indexes", value, what="sort key column"), ()
    if not isinstance(value, dict) or set(value) - {"sort_key", "skip"}:
        problems.append(("indexes", "must be a list of columns, or a mapping with sort_key and skip"))
        return (), ()
    sort_key = identifiers("indexes.sort_key", value.get("sort_key"), what="sort key column")
    skip = []
    for i, item in enumerate(value.get("skip") or []):
        where = f"indexes.skip[{i}]"
        if not isinstance(item, dict) or set(item) - {"column", "type", "granularity"} or "column" not in item:
            problems.append((where, "must be a mapping with column, type and granularity"))
            continue
        column = identifiers(where + ".column", [item["column"]], what="column")
        kind = str(item.get("type", "minmax"))
        if not SKIP_INDEX_TYPE.match(kind):
            problems.append((where + ".type", f"{kind!r} is not minmax, set(N) or bloom_filter[(p)]"))
            continue
        granularity = item.get("granularity", 4)
        if not isinstance(granularity, int) or not 1 <= granularity <= 1000:
            problems.append((where + ".granularity", "must be an integer from 1 to 1000"))
            continue
        if column:
            skip.append(SkipIndex(column[0], kind, granularity))
    return sort_key, tuple(skip)


def _excel(value, problems) -> ExcelOptions | None:
    """`excel`: false/absent (no kept workbook), true (data, summary and charts), or a mapping of
    `include_charts` and `include_summary` (each true by default)."""
    if value is None or value is False:
        return None
    if value is True:
        return ExcelOptions()
    if not isinstance(value, dict):
        problems.append(("excel", "must be true, false, or a mapping of include_charts and include_summary"))
        return None
    fine = True
    for key, flag in value.items():
        if key not in ("include_charts", "include_summary"):
            problems.append((f"excel.{key}", "unknown field (known: include_charts, include_summary)"))
            fine = False
        elif not isinstance(flag, bool):
            problems.append((f"excel.{key}", "must be true or false"))
            fine = False
    if not fine:
        return None
    return ExcelOptions(**value)


def _checks(value, problems, identifiers) -> Checks:
    if value is None:
        return Checks()
    if not isinstance(value, dict) or set(value) - {"min_rows", "not_null", "unique_key"}:
        problems.append(("checks", "must be a mapping with min_rows, not_null and unique_key"))
        return Checks()
    min_rows = value.get("min_rows", 0)
    if not isinstance(min_rows, int) or isinstance(min_rows, bool) or min_rows < 0:
        problems.append(("checks.min_rows", "must be a non-negative integer"))
        min_rows = 0
    return Checks(min_rows, identifiers("checks.not_null", value.get("not_null"), what="column"),
                  identifiers("checks.unique_key", value.get("unique_key"), what="column"))


def inspect_query(query: str) -> tuple[tuple[str, ...], list[str]]:
    """(tables the query reads, problems): exactly one SELECT, no DDL/DML, no system tables,
    no other databases, no table functions that read files, URLs or other servers."""
    try:
        statements = [s for s in sqlglot.parse(query, read="clickhouse") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        return (), [f"not a query we can read: {str(exc).splitlines()[0]}"]
    if len(statements) != 1:
        return (), [f"must be exactly one statement, found {len(statements)}"]
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        return (), [f"must be a SELECT, found {type(statement).__name__.upper()}"]
    if statement.find(exp.DDL, exp.DML, exp.Command) is not None:
        return (), ["must not contain DDL or DML"]
    problems = []
    if any(statement.find_all(exp.Into)):
        problems.append("SELECT ... INTO is not allowed")
    settings = [node for node in statement.walk() if isinstance(node, exp.Expression) and node.args.get("settings")]
    if settings:
        problems.append("a SETTINGS clause is not allowed (settings are the datamart's, not the query's)")
    if statement.args.get("format") or any(node.args.get("format") for node in statement.find_all(exp.Select)):
        problems.append("a FORMAT clause is not allowed")
    for function in statement.find_all(exp.Anonymous):
        if function.name.lower() in READING_FUNCTIONS:
            problems.append(f"function {function.name}() is not allowed (it reads files)")
    ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
    tables = []
    for table in statement.find_all(exp.Table):
        if isinstance(table.this, exp.Anonymous) or isinstance(table.this, exp.Func):
            function = (table.this.name if isinstance(table.this, exp.Anonymous) else table.this.sql_name()).lower()
            if function not in SAFE_TABLE_FUNCTIONS:
                problems.append(f"table function {function}() is not allowed (it can read files, URLs or other "
                                "databases)")
            continue
        database = table.db.lower() if table.db else ""
        if database in FORBIDDEN_DATABASES:
            problems.append(f"{table.db}.{table.name}: system tables are not allowed")
        elif database:
            problems.append(f"{table.db}.{table.name}: only tables of the analytics database, unqualified")
        elif table.name and table.name not in ctes:
            tables.append(table.name)
    return tuple(sorted(set(tables))), problems


def load_specs(folders: list[Path]) -> tuple[list[DatamartSpec], list[SpecError]]:
    """Every datamart spec in `folders` (in order); a name defined twice is an error."""
    return load_spec_folders(folders, load_spec, SpecError)
