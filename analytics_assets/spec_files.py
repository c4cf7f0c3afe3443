"""Folders of YAML spec files (datamarts, reports): read, name-checked, gathered; every problem
names its file and field."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from dagster._utils.schedules import is_valid_cron_string

from analytics_assets.identifiers import validate_identifier

Spec = TypeVar("Spec")


class SpecFileError(ValueError):
    """Everything wrong with one spec, each problem as `field: message`."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(f"{f}: {m}" for f, m in problems))


def load_spec_file(path: Path, parse: Callable[..., Spec], error: type[SpecFileError]) -> Spec:
    """`parse(data, source=path)` of the file's YAML; the spec's name must be the file's name."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise error(str(path), [("file", f"not readable YAML: {exc}")]) from None
    spec = parse(data, source=str(path))
    if path.stem != spec.name:
        raise error(str(path), [("name", f"{spec.name!r} differs from the file name {path.stem!r}")])
    return spec


def spec_paths(folders: list[Path]) -> list[Path]:
    """The `*.yaml`/`*.yml` files of `folders` (missing ones skipped), folder by folder, by name."""
    return [path for folder in folders if folder.is_dir()
            for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))]


def print_problems(error: SpecFileError) -> None:
    """For a command line: the file, then each problem as `field: message`, on stderr."""
    print(f"{error.source}: invalid", file=sys.stderr)
    for field_name, message in error.problems:
        print(f"  {field_name}: {message}", file=sys.stderr)


def load_spec_folders(folders: list[Path], load: Callable[[Path], Spec], error: type[SpecFileError]
                      ) -> tuple[list[Spec], list[SpecFileError]]:
    """Every `*.yaml`/`*.yml` spec in `folders`, in order; a name defined twice is an error for the
    second file, and an invalid file is an error, not the end of the others."""
    specs: dict[str, Spec] = {}
    errors: list[SpecFileError] = []
    for path in spec_paths(folders):
        try:
            spec = load(path)
        except SpecFileError as exc:
            errors.append(exc)
            continue
        if spec.name in specs:
            errors.append(error(str(path), [("name", f"{spec.name!r} is already defined by "
                                                     f"{specs[spec.name].source}")]))
            continue
        specs[spec.name] = spec
    return list(specs.values()), errors


class FieldReader:
    """Reads one spec's fields, collecting every problem as (field, message): unknown fields,
    choices, true/false flags and cron expressions are read the same way in every kind of spec."""

    def __init__(self, data: Any, *, source: str, known: tuple[str, ...], error: type[SpecFileError]):
        if not isinstance(data, dict):
            raise error(source, [("file", "expected a mapping of fields")])
        self.data = data
        self.problems: list[tuple[str, str]] = [
            (str(key), f"unknown field (known: {', '.join(known)})") for key in data if key not in known]

    def identifier(self, key: str) -> str | None:
        """`key`'s value if it is a plain identifier (required), else None and a problem."""
        value = self.data.get(key)
        try:
            validate_identifier(value, what=key)
        except ValueError as exc:
            self.problems.append((key, str(exc).split(": ", 1)[-1] if value is not None else "is required"))
            return None
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.data.get(key, default)
        if value not in allowed:
            self.problems.append((key, f"{value!r} is not one of {', '.join(allowed)}"))
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.problems.append((key, "must be true or false"))
            return default
        return value

    def cron(self, key: str, value: Any) -> str | None:
        """`value` if it is a five-field cron expression, else None and a problem."""
        if not isinstance(value, str) or len(value.split()) != 5 or not is_valid_cron_string(value):
            self.problems.append((key, f"{value!r} is not a five-field cron expression"))
            return None
        return value
