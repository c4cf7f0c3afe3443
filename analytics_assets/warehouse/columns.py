"""What an asset's table holds, read from the `.sql` that builds it: column names, ClickHouse
types and `COMMENT`s (the UI's columns tab, and system.columns for BI tools), the column lineage
the SQL makes obvious, and a code reference to the file.

One parser for every table: the column list of the file's `CREATE TABLE ... (...)`. A file whose
CREATE has no column list lets ClickHouse type the columns; those tables state theirs in a
`<table>.columns.sql` beside it (the same column-list syntax, never executed).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dagster as dg

from analytics_assets.warehouse.sql import load_sql

SQL_LABEL = "SQL"
# Code references are marked beta; this module is where they are made.
warnings.filterwarnings("ignore", message=".*(LocalFileCodeReference|CodeReferencesMetadataValue).*",
                        category=dg.BetaWarning)
_CREATE = re.compile(r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\S+\s*\(|\A\s*\(", re.IGNORECASE)
_NOT_COLUMNS = ("INDEX", "PROJECTION", "CONSTRAINT")
# What may follow a column's type in ClickHouse's column declaration.
_AFTER_TYPE = re.compile(
    r"\s(?:DEFAULT|MATERIALIZED|ALIAS|EPHEMERAL|CODEC|COMMENT|TTL|SETTINGS|PRIMARY\s+KEY)\b", re.IGNORECASE)
_COMMENT = re.compile(r"\bCOMMENT\s+'((?:[^'\\]|\\.|'')*)'", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str | None = None


def _strip_line_comments(text: str) -> str:
    """`--` comments removed, string literals kept as they are."""
    out, i, quoted = [], 0, False
    while i < len(text):
        c = text[i]
        if quoted:
            out.append(c)
            if c == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif c == "'":
                quoted = False
        elif c == "'":
            quoted = True
            out.append(c)
        elif text.startswith("--", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _outside_literals(text: str, start: int = 0):
    """(index, character, depth) of each character from `start` outside string literals; depth
    counts the parentheses opened since `start`, so a '(' and its ')' carry the same one."""
    depth, quoted, i = 0, False, start
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == "'":
                quoted = False
        elif c == "'":
            quoted = True
        elif c == "(":
            yield i, c, depth
            depth += 1
        elif c == ")":
            depth -= 1
            yield i, c, depth
        else:
            yield i, c, depth
        i += 1


def _split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside parentheses and string literals."""
    parts, start = [], 0
    for i, c, depth in _outside_literals(text):
        if c == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _closing(text: str, open_at: int) -> int:
    """The index of the parenthesis closing the one at `open_at`."""
    for i, c, depth in _outside_literals(text, open_at):
        if c == ")" and depth == 0:
            return i
    raise ValueError("unbalanced parentheses")


def normalize_type(kind: str) -> str:
    """A type as system.columns spells it: `Decimal(18, 2)`, `DateTime64(6, 'UTC')`."""
    kind = re.sub(r"\s+", " ", kind.strip())
    kind = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", kind))
    return re.sub(r"\s*,\s*", ", ", kind)


def parse_columns(sql: str, source: str = "SQL") -> tuple[Column, ...]:
    """The columns of the first `CREATE TABLE name (...)` in `sql` (or of a bare `(...)` list),
    with their `COMMENT '...'`s as descriptions. `source` names the file in errors."""
    text = _strip_line_comments(sql)
    match = _CREATE.search(text)
    if match is None:
        raise ValueError(f"{source}: no CREATE TABLE with a column list")
    body = text[match.end() - 1 + 1:_closing(text, match.end() - 1)]
    columns = []
    for item in _split_top_level(body):
        first = item.split(None, 1)[0].upper()
        if first in _NOT_COLUMNS:
            continue
        name_match = re.match(r"`([^`]+)`|([A-Za-z_][A-Za-z0-9_]*)", item)
        if name_match is None:
            raise ValueError(f"{source}: cannot read the column {item[:60]!r}")
        name = name_match.group(1) or name_match.group(2)
        rest = " " + item[name_match.end():].strip()
        after = _AFTER_TYPE.search(rest)
        kind = normalize_type(rest[:after.start()] if after else rest)
        if not kind:
            raise ValueError(f"{source}: column {name} has no type")
        comment = _COMMENT.search(rest)
        description = comment.group(1).replace("''", "'").replace("\\'", "'") if comment else None
        columns.append(Column(name, kind, description))
    if not columns:
        raise ValueError(f"{source}: the column list is empty")
    return tuple(columns)


@lru_cache(maxsize=None)
def sql_columns(path: Path) -> tuple[Column, ...]:
    """The columns `path` (a `.sql` file) declares: its own CREATE's list, else its
    `<name>.columns.sql` sibling's."""
    try:
        return parse_columns(load_sql(path), path.name)
    except ValueError:
        sibling = path.with_name(f"{path.stem}.columns.sql")
        if not sibling.exists():
            raise
        return parse_columns(load_sql(sibling), sibling.name)


def table_schema(columns: Iterable[Column]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.type, description=c.description)
                                   for c in columns])


def built_schema(wh, table: str) -> dg.TableSchema:
    """The schema of `table` as ClickHouse built it (system.columns: name, type, comment)."""
    rows = wh.rows("SELECT name, type, comment FROM system.columns WHERE database = currentDatabase()"
                   " AND table = {t:String} ORDER BY position", {"t": table})
    return table_schema(Column(name, kind, comment or None) for name, kind, comment in rows)


FileRef = Path | str | tuple[Path | str, int]  # a file, or a file and a line


def code_references(*files: FileRef) -> dg.CodeReferencesMetadataValue:
    """A reference per file (or (file, line)): the UI links each, a `.sql` labelled `SQL`."""
    refs = []
    for ref in files:
        path, line = ref if isinstance(ref, tuple) else (ref, 1)
        refs.append(dg.LocalFileCodeReference(file_path=str(Path(path).resolve()), line_number=line,
                                              label=SQL_LABEL if str(path).endswith(".sql") else None))
    return dg.CodeReferencesMetadataValue(code_references=refs)


def table_metadata(sql: Path, *other_files: FileRef, columns: Sequence[Column] | None = None) -> dict:
    """Definition metadata of a table built by `sql`: its column schema (declared by the file,
    or `columns`) and a code reference to the file (and to `other_files`)."""
    return {
        "dagster/column_schema": table_schema(columns if columns is not None else sql_columns(sql)),
        "dagster/code_references": code_references(sql, *other_files),
    }


# --- column lineage: read from the SELECT lists ------------------------------------------------

_IDENT = re.compile(r"`([^`]+)`|\b([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()")
_ALIAS = re.compile(r"^(.*?)\s+AS\s+(?:`([^`]+)`|([A-Za-z_][A-Za-z0-9_]*))\s*$", re.IGNORECASE | re.DOTALL)
_SELECT_OR_FROM = re.compile(r"\b(SELECT|FROM)\b", re.IGNORECASE)


def _blank_literals(text: str) -> str:
    """String literals, `{name:Type}` parameters and `$name` placeholders replaced by blanks:
    nothing in them names a column."""
    text = re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)
    text = re.sub(r"\{[A-Za-z_][A-Za-z0-9_]*:[^{}]*\}", "0", text)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "_t", text)


def select_items(sql: str) -> list[tuple[str, str]]:
    """(output name, expression) of every SELECT list in `sql`, subqueries included."""
    text = _blank_literals(_strip_line_comments(sql))
    # a parenthesis depth for each position: a SELECT's list ends at the FROM of its own depth
    depth, depths = 0, []
    for c in text:
        if c == "(":
            depth += 1
        depths.append(depth)
        if c == ")":
            depth -= 1
    items = []
    for match in _SELECT_OR_FROM.finditer(text):
        if match.group(1).upper() != "SELECT":
            continue
        level, end = depths[match.start()], None
        for later in _SELECT_OR_FROM.finditer(text, match.end()):
            if later.group(1).upper() == "FROM" and depths[later.start()] == level:
                end = later.start()
                break
        for item in _split_top_level(text[match.end():end]):
            aliased = _ALIAS.match(item)
            if aliased:
                items.append((aliased.group(2) or aliased.group(3), aliased.group(1)))
            elif re.fullmatch(r"(?:[A-Za-z_][A-Za-z0-9_]*\.)?([A-Za-z_][A-Za-z0-9_]*)", item):
                items.append((item.rsplit(".", 1)[-1], item))
    return items


def column_lineage(sql: str, columns: Sequence[str], upstream: dg.AssetKey,
                   upstream_columns: Mapping[str, str]) -> dg.TableColumnLineage:
    """Which columns of `upstream` (the table's one source) each of `columns` is computed from,
    following aliases through the SELECT lists. A column computed from none (a count, the
    logical time) has no entry."""
    items: dict[str, list[str]] = {}
    for name, expression in select_items(sql):
        items.setdefault(name, []).append(expression)

    def sources(name: str, seen: frozenset) -> set[str]:
        found: set[str] = set()
        for expression in items.get(name, ()):
            for ident_match in _IDENT.finditer(expression):
                ident = ident_match.group(1) or ident_match.group(2)
                is_alias = ident in items and items[ident] != [ident]
                if is_alias and ident not in seen:
                    found |= sources(ident, seen | {ident})
                elif ident in upstream_columns:
                    found.add(ident)
        return found

    deps_by_column = {}
    for column in columns:
        found = sources(column, frozenset({column}))
        if found:
            deps_by_column[column] = [dg.TableColumnDep(asset_key=upstream, column_name=c)
                                      for c in sorted(found)]
    return dg.TableColumnLineage(deps_by_column=deps_by_column)
