"""The datamart specs as a catalog: find, create, reschedule and remove spec files, with the
same validation whoever asks (`analytics-assets datamart ...` and the HTTP API).

Shipped examples (analytics_assets/datamarts/specs/) are read-only here; user specs live in
$ANALYTICS_DATAMARTS_DIR. Validation is the static one (spec.py) plus ClickHouse's verdict
(build.verify), and a name must not be taken by another spec or one of our tables.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from analytics_assets import settings
from analytics_assets.datamarts.spec import (REFRESH_MODES, DatamartSpec, ExcelOptions, SpecError, load_specs,
                                             parse_spec)
from analytics_assets.files import atomic_path
from analytics_assets.spec_files import FieldReader, spec_paths


class DatamartConflict(Exception):
    """The request cannot apply to the datamart as it is (a name taken, a shipped spec);
    `replaceable`: the user's own spec, which a create with replace=True overwrites."""

    def __init__(self, message: str, *, replaceable: bool = False):
        super().__init__(message)
        self.replaceable = replaceable


class DatamartNotFound(LookupError):
    """No spec of that name."""


def folders() -> list[Path]:
    from analytics_assets.datamarts.assets import spec_folders

    return spec_folders()


def shipped(spec: DatamartSpec) -> bool:
    from analytics_assets.datamarts.assets import EXAMPLES

    return Path(spec.source).parent.resolve() == EXAMPLES.resolve()


def reserved() -> set[str]:
    """Names a datamart may not take: our other assets and internal tables (warehouse/registry.py,
    as the datamarts' definitions found it)."""
    from analytics_assets.datamarts.definitions import RESERVED

    return set(RESERVED)


def verified(spec: DatamartSpec, clickhouse=None) -> DatamartSpec:
    """ClickHouse's verdict on top of the static checks (raises SpecError naming each field)."""
    from analytics_assets.datamarts.assets import query_parameters
    from analytics_assets.datamarts.build import verify
    from analytics_assets.logical_time import resolve_as_of
    from analytics_assets.resources import ClickHouseResource

    problems = []
    if spec.name in reserved():
        problems.append(("name", f"{spec.name!r} is already a table of ours"))
    with (clickhouse or ClickHouseResource()).get_client() as wh:
        problems += verify(wh, spec, query_parameters(resolve_as_of()))
    if problems:
        raise SpecError(spec.source, problems)
    return spec


def find(name: str) -> DatamartSpec | None:
    specs, _ = load_specs(folders())
    return next((s for s in specs if s.name == name), None)


def listing() -> tuple[list[DatamartSpec], list[SpecError]]:
    """Every valid spec (by name) and every invalid file."""
    specs, errors = load_specs(folders())
    return sorted(specs, key=lambda s: s.name), errors


def user_file(name: str) -> Path | None:
    """The user's spec file for `name` (`.yaml` or `.yml`), valid or not, if there is one."""
    folder = settings.datamarts_dir()
    return next((p for p in spec_paths([folder]) if p.stem == name), None)


def create(data: Any, *, source: str, replace: bool = False, clickhouse=None) -> tuple[DatamartSpec, Path]:
    """Validate `data` (a spec's fields) and write it as $ANALYTICS_DATAMARTS_DIR/<name>.yaml.
    SpecError: what is wrong, by field; DatamartConflict: the name is taken."""
    spec = parse_spec(data, source=source)
    folder = settings.datamarts_dir()
    path = folder / f"{spec.name}.yaml"
    taken = {s.name: s.source for s in load_specs([p for p in folders() if p.resolve() != folder])[0]}
    if spec.name in taken:
        raise DatamartConflict(f"{spec.name} is already defined by {taken[spec.name]}")
    existing = user_file(spec.name)
    if existing is not None and not replace:
        raise DatamartConflict(f"{spec.name} exists ({existing})", replaceable=True)
    verified(spec, clickhouse)
    try:
        _write(spec, path, replace=replace)
    except FileExistsError:  # written meanwhile by someone else
        raise DatamartConflict(f"{spec.name} exists ({path})", replaceable=True) from None
    return dataclasses.replace(spec, source=str(path)), path


def reschedule(name: str, cron: Any, refresh_mode: Any = "concurrent") -> tuple[DatamartSpec, Path]:
    """Make a user datamart `scheduled` on `cron` (validated as in a spec file) and rewrite its file."""
    asked = FieldReader({"refresh_schedule": cron, "refresh_mode": refresh_mode}, source=name,
                        known=("refresh_schedule", "refresh_mode"), error=SpecError)
    asked.cron("refresh_schedule", cron)
    asked.choice("refresh_mode", REFRESH_MODES, "concurrent")
    if asked.problems:  # what was sent is wrong, whatever the datamart
        raise SpecError(name, asked.problems)
    spec = find(name)
    if spec is None:
        raise DatamartNotFound(f"no datamart named {name!r}")
    if shipped(spec):
        raise DatamartConflict(f"{name} is shipped with the package ({spec.source}): copy it to "
                               f"{settings.DATAMARTS_DIR} under another name to change it")
    data = yaml.safe_load(Path(spec.source).read_text(encoding="utf-8"))
    data.update(refresh_strategy="scheduled", refresh_schedule=cron, refresh_mode=refresh_mode)
    changed = parse_spec(data, source=spec.source)
    _write(changed, Path(spec.source), replace=True)
    return changed, Path(spec.source)


def remove(name: str) -> Path:
    """Delete the user's spec file of `name` (the ClickHouse table is left as it is)."""
    path = user_file(name)
    if path is None:
        spec = find(name)
        if spec is not None and shipped(spec):
            raise DatamartConflict(f"{name} is shipped with the package ({spec.source}) and cannot be deleted")
        raise DatamartNotFound(f"no datamart named {name!r}")
    path.unlink()
    return path


def state(wh, name: str) -> dict | None:
    """The datamart's table in ClickHouse (engine, rows, bytes, last built), or None if not built."""
    found = wh.rows("SELECT engine, total_rows, total_bytes, metadata_modification_time FROM system.tables"
                    " WHERE database = {db:String} AND name = {t:String}", {"db": wh.database, "t": name})
    if not found:
        return None
    engine, rows, size, modified = found[0]
    return {"engine": engine, "rows": rows, "bytes": size, "last_built_utc": modified}


def export_flags(spec: DatamartSpec | None, include_charts: bool | None, include_summary: bool | None
                 ) -> tuple[bool, bool]:
    """(include_charts, include_summary) of an export: as asked, else the spec's `excel:` settings, else both."""
    options = (spec.excel if spec else None) or ExcelOptions()
    return (options.include_charts if include_charts is None else include_charts,
            options.include_summary if include_summary is None else include_summary)


def _write(spec: DatamartSpec, path: Path, *, replace: bool) -> None:
    with atomic_path(path, replace=replace) as tmp:
        tmp.write_text(spec.to_yaml(), encoding="utf-8")
