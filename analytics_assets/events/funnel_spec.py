"""Funnel definitions: YAML files (`name`, `steps`, `window`, optional `filters`, `description`)
in the shipped `funnels/` folder and in `$ANALYTICS_FUNNELS_DIR`, validated field by field.

`steps` are event names in order; `window` is how long after the first step a user has to
reach the last (`90s`, `30m`, `1h`, `2d`; at most 7 days); `filters` keeps only events whose
`properties` hold one of the listed values (`{platform: web}` or `{country: [DE, FR]}`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from analytics_assets import settings
from analytics_assets.spec_files import FieldReader, SpecFileError, load_spec_file, load_spec_folders

SHIPPED = Path(__file__).parent / "funnels"
FIELDS = ("name", "steps", "window", "filters", "description")
EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,99}$")  # as product_events accepts them
WINDOW = re.compile(r"^(\d{1,7})\s*(s|m|h|d)$")
UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_WINDOW_MS = 7 * 86_400_000
MAX_STEPS = 20  # windowFunnel takes up to 32 conditions


@dataclass(frozen=True)
class FunnelSpec:
    name: str
    steps: tuple[str, ...]
    window: str
    window_ms: int
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    description: str = ""
    source: str = ""

    @property
    def table(self) -> str:
        return f"funnel_{self.name}"


class FunnelSpecError(SpecFileError):
    """Everything wrong with one funnel definition."""


def parse_funnel(data, *, source: str) -> FunnelSpec:
    reader = FieldReader(data, source=source, known=FIELDS, error=FunnelSpecError)
    problems = reader.problems

    name = reader.identifier("name")
    if name is not None and len(f"funnel_{name}") > 127:
        problems.append(("name", "longer than 120 characters (the table is funnel_<name>)"))

    steps = data.get("steps")
    if not isinstance(steps, list) or not 2 <= len(steps) <= MAX_STEPS:
        problems.append(("steps", f"must be a list of 2 to {MAX_STEPS} event names"))
        steps = []
    for i, step in enumerate(steps, 1):
        if not isinstance(step, str) or not EVENT_NAME.match(step):
            problems.append((f"steps[{i}]", f"{step!r} is not an event name (a letter, then letters, digits, _ . : -)"))
    if len(set(steps)) != len(steps):
        problems.append(("steps", "an event may be one step only"))

    window = data.get("window")
    match = WINDOW.match(window.strip()) if isinstance(window, str) else None
    window_ms = int(match.group(1)) * UNIT_MS[match.group(2)] if match else 0
    if not match or not 0 < window_ms <= MAX_WINDOW_MS:
        problems.append(("window", f"{window!r} is not a duration like 90s, 30m, 1h or 2d, up to 7d"))

    filters: list[tuple[str, tuple[str, ...]]] = []
    raw_filters = data.get("filters", {}) or {}
    if not isinstance(raw_filters, dict):
        problems.append(("filters", "must be a mapping of event property -> value or list of values"))
        raw_filters = {}
    for key, values in raw_filters.items():
        values = values if isinstance(values, list) else [values]
        if not isinstance(key, str) or not key or len(key) > 200:
            problems.append(("filters", f"{key!r} is not a property name"))
        elif not values or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            problems.append((f"filters.{key}", "must be a value or a non-empty list of values (text or numbers)"))
        else:
            filters.append((key, tuple(str(v) for v in values)))

    description = data.get("description", "")
    if not isinstance(description, str):
        problems.append(("description", "must be text"))
    if problems:
        raise FunnelSpecError(source, problems)
    return FunnelSpec(name=name, steps=tuple(steps), window=window.strip(), window_ms=window_ms,
                      filters=tuple(sorted(filters)), description=description, source=source)


def load_funnel(path: Path) -> FunnelSpec:
    return load_spec_file(path, parse_funnel, FunnelSpecError)


def funnel_folders() -> list[Path]:
    return [SHIPPED, settings.funnels_dir()]


def load_funnels(folders: list[Path] | None = None) -> tuple[list[FunnelSpec], list[FunnelSpecError]]:
    """Every funnel in the folders (shipped first); an invalid file is reported, not fatal."""
    return load_spec_folders(funnel_folders() if folders is None else folders, load_funnel, FunnelSpecError)
