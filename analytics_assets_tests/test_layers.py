"""The package's layers, lowest first: a module imports only from its own layer or a lower one (every
import counts, including those inside functions and under TYPE_CHECKING), and only settings.py
reads the environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import analytics_assets

PACKAGE = Path(analytics_assets.__file__).parent

# (layer, module prefixes, why it sits there). A module belongs to the layer of its longest prefix.
LAYERS = [
    ("base", ["settings", "secrets", "identifiers", "logical_time", "default_partition", "files", "spec_files"],
     "the environment, names safe in SQL, secrets to mask, the run's time: needs nothing of ours"),
    ("resources", ["resources", "operations.webhook"],
     "one per external system (ClickHouse, PostgreSQL, SMTP, the webhook), built from the settings"),
    ("warehouse", ["warehouse"], "tables, SQL files and guards over an open ClickHouse client"),
    ("alerting", ["operations", "reports.delivery"],
     "the delivery log and the alert channels, which a domain uses too (web's anomaly e-mails)"),
    ("feeds", ["landing", "ingest", "exports"], "data in (replicas, landing files) and out (Excel files)"),
    ("domains", ["sales", "customers", "customer360", "web", "events"],
     "assets over the replicas and feeds; a domain may read another's tables (same layer)"),
    ("consumers", ["datamarts", "reports", "bi", "events.definitions"],
     "spec-file assets, reports and BI feeds over the domains; events.definitions defines the funnels "
     "(spec files) after every name they could take, the BI feeds' included"),
    ("assembly", ["catalog", "definitions"], "the code location: every domain's definitions, described"),
    ("entry points", ["cli", "demo", "api", ""], "commands, the demo and the HTTP API; '' is the package itself"),
]

def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The index of the layer whose longest prefix matches `module` (names without the package)."""
    best, found = -1, None
    for index, (_, prefixes, _) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".") or prefix == "") and len(prefix) > best:
                best, found = len(prefix), index
    assert found is not None, f"{module} is in no layer: add it to LAYERS"
    return found


def imports_of(path: Path, module: str) -> set[str]:
    """Every module of ours that `module` imports, anywhere in the file (names without the package).
    `from analytics_assets import settings` imports the submodule settings, not the package."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                anchor = package[:len(package) - node.level + 1]
                base = ".".join(["analytics_assets", *anchor] + ([base] if base else []))
            targets = []
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                ours = submodule.removeprefix("analytics_assets.").removeprefix("analytics_assets")
                targets.append(submodule if ours in MODULES else base)
        else:
            continue
        for target in targets:
            if target == "analytics_assets" or target.startswith("analytics_assets."):
                found.add(target.removeprefix("analytics_assets").removeprefix("."))
    return found


def upward_imports() -> set[tuple[str, str]]:
    return {(module, target) for module, path in MODULES.items() for target in imports_of(path, module)
            if layer_of(target) > layer_of(module)}


def test_every_module_is_in_a_layer_and_every_prefix_names_a_module():
    stale = [prefix for _, prefixes, _ in LAYERS for prefix in prefixes if prefix not in MODULES]
    assert not stale, f"no such module: {stale}"
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_from_a_higher_layer():
    found = upward_imports()
    assert not found, "\n".join(
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, target in sorted(found))


@pytest.mark.parametrize("source, expected", [
    ("from analytics_assets import settings", {"settings"}),
    ("from analytics_assets.definitions import defs", {"definitions"}),
    ("def f():\n    import analytics_assets.demo.run", {"demo.run"}),
    ("from . import clickhouse", {"resources.clickhouse"}),
    ("from ..warehouse import guards", {"warehouse.guards"}),
])
def test_the_import_reader_sees_every_form(tmp_path, source, expected):
    path = tmp_path / "postgres.py"
    path.write_text(source)
    assert imports_of(path, "resources.postgres") == expected


# Reading os.environ anywhere but settings.py. Writing it, or copying it whole for a child
# process, is not reading a setting.
def environment_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def is_environ(node) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == "environ" or \
            isinstance(node, ast.Name) and node.id == "environ"

    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)) and getattr(node, "attr", getattr(node, "id", "")) == "getenv":
            found.append(f"line {node.lineno}: getenv")
        if not is_environ(node):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr in ("get", "__getitem__", "__contains__", "keys"):
            found.append(f"line {node.lineno}: environ.{parent.attr}")
        elif isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Load):
            found.append(f"line {node.lineno}: environ[...]")
        elif isinstance(parent, ast.Compare):
            found.append(f"line {node.lineno}: ... in environ")
    return found


def test_only_settings_reads_the_environment():
    reads = {module: found for module, path in MODULES.items() if module != "settings"
             for found in [environment_reads(path)] if found}
    assert not reads, reads
    assert environment_reads(MODULES["settings"])  # the reader sees the reads where they are


@pytest.mark.parametrize("source", ["import os\nos.environ.get('X')", "import os\nos.environ['X']",
                                    "import os\nos.getenv('X')", "import os\n'X' in os.environ",
                                    "from os import environ\nenviron.get('X')"])
def test_the_environment_reader_sees_every_form(tmp_path, source):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert environment_reads(path)


@pytest.mark.parametrize("source", ["import os\nos.environ['X'] = '1'", "import os\nos.environ.setdefault('X', '1')",
                                    "import os\nenv = {k: v for k, v in os.environ.items()}"])
def test_writing_or_passing_on_the_environment_is_not_reading_a_setting(tmp_path, source):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert not environment_reads(path)
