"""Folders of YAML spec files (datamarts, reports): read, name-checked, gathered; every problem
names its file and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

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


def load_spec_folders(folders: list[Path], load: Callable[[Path], Spec], error: type[SpecFileError]
                      ) -> tuple[list[Spec], list[SpecFileError]]:
    """Every `*.yaml`/`*.yml` spec in `folders`, in order; a name defined twice is an error for the
    second file, and an invalid file is an error, not the end of the others."""
    specs: dict[str, Spec] = {}
    errors: list[SpecFileError] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
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
