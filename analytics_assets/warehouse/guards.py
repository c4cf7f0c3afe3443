"""Tables a refresh can leave part-applied (updated in place, not swapped) register a guard here.
A table built from one calls `require_complete` first: while the source is part-applied it
refuses to build, naming the source, and readers keep its previous version until the source's
next refresh completes it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

_GUARDS: dict[str, Callable] = {}


class PartlyApplied(RuntimeError):
    """A source table's last refresh stopped part-way."""


def register_guard(table: str, check: Callable) -> None:
    """`check(wh)` raises PartlyApplied while `table` is part-applied."""
    _GUARDS[table] = check


def require_complete(wh, tables: Iterable[str]) -> None:
    for table in tables:
        if table in _GUARDS:
            _GUARDS[table](wh)
