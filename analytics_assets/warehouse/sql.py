"""SQL lives in `.sql` files next to the asset that runs it (one file per table, dbt-style).

Files use `$name` placeholders for identifiers (validated, then quoted) and ClickHouse's own
`{name:Type}` query parameters for values, which the server binds: no value is ever
formatted into SQL text.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from analytics_assets.warehouse.identifiers import quote_identifier


@lru_cache(maxsize=None)
def load_sql(path: Path | str) -> str:
    return Path(path).read_text(encoding="utf-8")


def render_sql(template: str, **identifiers: str) -> str:
    """Substitute `$name` placeholders with quoted identifiers; unknown `$name`s are an error."""
    quoted = {key: quote_identifier(value, what=key) for key, value in identifiers.items()}
    return string.Template(template).substitute(quoted)


def sql_file(module_file: str, name: str) -> str:
    """The text of `name`.sql beside the Python module `module_file` (pass `__file__`)."""
    return load_sql(Path(module_file).with_name(f"{name}.sql"))
