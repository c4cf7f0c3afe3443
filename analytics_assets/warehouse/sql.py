"""SQL lives in `.sql` files next to the asset that runs it (one file per table, dbt-style).

Files use `$name` placeholders for identifiers (validated, then quoted) and ClickHouse's own
`{name:Type}` query parameters for values, which the server binds: no value is ever
formatted into SQL text.

A rule many files share (which sales count: completed ones, before the logical time) lives once,
in a fragment file `<domain>/<name>.fragment.sql`, and a file says `{{ <domain>/<name> }}` where
it applies; the loader splices it in. A fragment rather than a view over sales_fact: the same rule
is applied to copies of the fact's rows too (customer_360's changed sales, its `$source` tables),
which a view over one table cannot serve; a fragment is no object in the warehouse, so nothing has
to be created, kept in step with sales_fact's schema or reserved before a reader runs (chDB runs
every query in one process: a view would be one more thing each entry point ensures); and every
statement still reads sales_fact itself, its primary key (the sale day) used as before.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path

from analytics_assets.identifiers import quote_identifier

PACKAGE = Path(__file__).parents[1]
FRAGMENT = re.compile(r"\{\{\s*([a-z0-9_]+/[a-z0-9_]+)\s*\}\}")


@lru_cache(maxsize=None)
def sql_fragment(name: str) -> str:
    """The SQL of the fragment `name` ("sales/completed_sale": `sales/completed_sale.fragment.sql`
    in the package) on one line, its `--` comment lines dropped, the fragments it names spliced in."""
    path = PACKAGE / f"{name}.fragment.sql"
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return _splice(" ".join(line for line in lines if line and not line.startswith("--")))


def _splice(text: str) -> str:
    return FRAGMENT.sub(lambda match: sql_fragment(match.group(1)), text)


@lru_cache(maxsize=None)
def load_sql(path: Path | str) -> str:
    """The text of a `.sql` file, each `{{ <domain>/<name> }}` replaced by that fragment (on the
    same line: the file's line numbers stay those of its statements)."""
    return _splice(Path(path).read_text(encoding="utf-8"))


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
