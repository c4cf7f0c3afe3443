"""Owners, tags, Python code references and column lineage for every asset, applied in one pass
over the code location's assets (definitions.py calls `described` once).

Owners and tags come from ownership.yaml (per group, overridable per asset). Column lineage is
read from a table's SQL where it is obvious: a table with one upstream table whose columns are
known, each output column traced through the SELECT lists' aliases to the upstream's columns (and
through the SQL of a run's scratch table it reads, e.g. the marts' per-day pre-aggregate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import re
import warnings
from functools import lru_cache
from pathlib import Path

import dagster as dg
import yaml

from analytics_assets.warehouse.columns import SQL_LABEL, column_lineage
from analytics_assets.warehouse.sql import load_sql

# Code references are marked beta; this pass is where the Python ones are made.
warnings.filterwarnings("ignore", message=".*with_source_code_references.*", category=dg.BetaWarning)
OWNERSHIP = Path(__file__).with_name("ownership.yaml")


@lru_cache(maxsize=None)
def ownership(path: Path = OWNERSHIP) -> dict:
    """ownership.yaml, checked: a mistake names the file and the entry."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for section in ("groups", "assets"):
        for name, entry in (data.get(section) or {}).items():
            unknown = set(entry or {}) - {"owners", "tags"}
            if unknown:
                raise ValueError(f"{path}: {section}.{name}: unknown field(s) {', '.join(sorted(unknown))}"
                                 " (owners, tags)")
    return data


def owners_and_tags(name: str, group: str | None,
                    data: Mapping | None = None) -> tuple[list[str], dict[str, str]]:
    """The owners and tags ownership.yaml gives the asset `name` of `group`."""
    data = ownership() if data is None else data
    group_entry = (data.get("groups") or {}).get(group) or {}
    own = (data.get("assets") or {}).get(name) or {}
    owners = own.get("owners", group_entry.get("owners", []))
    tags = {**(group_entry.get("tags") or {}), **(own.get("tags") or {})}
    return list(owners), {str(k): str(v) for k, v in tags.items()}


def _sql_file(spec: dg.AssetSpec) -> Path | None:
    refs = spec.metadata.get("dagster/code_references")
    for ref in refs.code_references if refs else ():
        if getattr(ref, "label", None) == SQL_LABEL:
            return Path(ref.file_path)
    return None


def _columns(spec: dg.AssetSpec) -> dict[str, str]:
    schema = spec.metadata.get("dagster/column_schema")
    return {c.name: c.type for c in schema.columns} if schema else {}


def _lineage_sql(sql: Path) -> str:
    """The table's SQL, then the SQL of each `$name` it reads that a `name.sql` beside it builds
    (a run's scratch table, e.g. `$sales_by_day`): lineage runs through it to the upstream."""
    text = load_sql(sql)
    for name in sorted(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))):
        built_by = sql.with_name(f"{name}.sql")
        if built_by != sql and built_by.exists():
            text += "\n;\n" + load_sql(built_by)
    return text


def lineage(spec: dg.AssetSpec,
            columns_by_key: Mapping[dg.AssetKey, Mapping[str, str]]) -> dg.TableColumnLineage | None:
    """The column lineage of a table with one upstream of known columns, read from its SQL."""
    sql = _sql_file(spec)
    upstream = [dep.asset_key for dep in spec.deps if dep.asset_key in columns_by_key]
    if sql is None or len(spec.deps) != 1 or len(upstream) != 1 or not _columns(spec):
        return None
    found = column_lineage(_lineage_sql(sql), list(_columns(spec)), upstream[0], columns_by_key[upstream[0]])
    return found if found.deps_by_column else None


def describe(assets: Sequence) -> list:
    """`assets` with owners and tags from ownership.yaml, a code reference to the Python that
    builds each, and column lineage where the SQL makes it obvious."""
    assets = list(dg.with_source_code_references(assets))
    specs = [spec for a in assets if isinstance(a, dg.AssetsDefinition) for spec in a.specs]
    columns_by_key = {spec.key: _columns(spec) for spec in specs if _columns(spec)}

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        owners, tags = owners_and_tags(spec.key.to_user_string(), spec.group_name)
        metadata = dict(spec.metadata)
        found = lineage(spec, columns_by_key)
        if found is not None:
            metadata["dagster/column_lineage"] = found
        return spec.replace_attributes(owners=list(spec.owners) or owners, tags={**tags, **spec.tags},
                                       metadata=metadata)

    return list(dg.map_asset_specs(apply, assets))


def described(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with every asset `describe`d (the lineage needs them all at once)."""
    return dg.Definitions(assets=describe(defs.assets or []), asset_checks=defs.asset_checks, jobs=defs.jobs,
                          schedules=defs.schedules, sensors=defs.sensors, resources=defs.resources,
                          executor=defs.executor, loggers=defs.loggers, metadata=defs.metadata)
