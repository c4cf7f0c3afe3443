"""Which table names are taken, and by whom: filled by each domain as its definitions are made
(its assets' keys and the internal tables it owns), read by whatever defines tables from files
(funnels, datamarts) and by the datamart commands, none of which imports the code location.

It also holds the code location's repository once the code location is loaded, so that a guard
can name the jobs that build a missing table (warehouse/guards.py) without importing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import dagster as dg

_TAKEN: dict[str, set[str]] = {}
_REPOSITORY: list[Callable[[], dg.RepositoryDefinition]] = []


def claim(owner: str, defs: dg.Definitions | None = None, internal: Iterable[str] = ()) -> dg.Definitions | None:
    """`owner` (a domain) takes its assets' keys in `defs` and its internal tables; returns `defs`."""
    names = _TAKEN.setdefault(owner, set())
    names.update(internal)
    for asset in (defs.assets or ()) if defs is not None else ():
        names.update(key.to_user_string() for key in getattr(asset, "keys", ()))
    return defs


def taken(excluding: Iterable[str] = ()) -> set[str]:
    """Every name claimed so far, but those of the owners in `excluding`."""
    left_out = set(excluding)
    return {name for owner, names in _TAKEN.items() if owner not in left_out for name in names}


def register_code_location(repository: Callable[[], dg.RepositoryDefinition]) -> None:
    """The code location's repository (definitions.py registers `defs.get_repository_def`)."""
    _REPOSITORY[:] = [repository]


def code_location() -> dg.RepositoryDefinition | None:
    """The code location's repository if it is loaded; else the current step's, if any."""
    if _REPOSITORY:
        return _REPOSITORY[0]()
    try:
        return dg.AssetExecutionContext.get().repository_def
    except dg.DagsterInvariantViolationError:  # no step running, and the code location not loaded
        return None
