"""Identifiers are the only thing ever formatted into SQL; values always travel as parameters."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")


def validate_identifier(name: str, *, what: str = "identifier") -> str:
    """Return `name` if it is a plain SQL identifier, else raise naming `what` (a setting or field)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(
            f"{what}: {name!r} is not a valid identifier "
            "(letters, digits and underscores, not starting with a digit)"
        )
    return name


def quote_identifier(name: str, *, what: str = "identifier") -> str:
    """Validated and back-quoted: safe to place in ClickHouse SQL."""
    return f"`{validate_identifier(name, what=what)}`"
