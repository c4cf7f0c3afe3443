"""SQL lives in `.sql` files next to the asset that runs it (one file per table, dbt-style).

Files use `$name` placeholders for identifiers (validated, then quoted) and ClickHouse's own
`{name:Type}` query parameters for values, which the server binds: no value is ever
formatted into SQL text.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from analytics_assets.identifiers import quote_identifier


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


def statements(script: str) -> list[str]:
    """Split a `.sql` file into statements at `;` line ends (our files keep `;` out of literals)."""
    parts, current = [], []
    for line in script.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    tail = "\n".join(current).strip()
    if tail and not all(l.strip().startswith("--") or not l.strip() for l in current):
        parts.append(tail)
    return [p for p in parts if p.strip()]


def run_script(wh, script: str, parameters=None, **identifiers: str) -> None:
    """Render `script` with identifiers and run its statements in order, each with the
    `parameters` it uses (a statement given none is never formatted client-side)."""
    for statement in statements(render_sql(script, **identifiers)):
        used = {k: v for k, v in (parameters or {}).items() if "{" + k + ":" in statement}
        wh.command(statement, used)
