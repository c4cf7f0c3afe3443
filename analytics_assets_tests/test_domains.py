"""The code location is the merge of the domains' own definitions, and each domain keeps each kind
of definition in the file of that name."""

import importlib

import pytest

from analytics_assets.definitions import defs

DOMAINS = ("ingest", "sales", "customers", "customer360", "web", "events", "datamarts", "bi", "reports",
           "operations")
# Where a domain's definitions of each kind live, when it has any made in code (not from spec files).
ROLES = {"jobs": "jobs", "schedules": "schedules", "sensors": "sensors", "asset_checks": "checks"}
FROM_SPEC_FILES = {"datamarts": {"schedules"}, "reports": {"schedules", "sensors"}}  # built by factories


def _domain(name: str):
    return importlib.import_module(f"analytics_assets.{name}.definitions").defs


def _names(definitions, kind: str) -> set[str]:
    return {getattr(d, "name", None) or repr(d) for d in getattr(definitions, kind) or ()}


@pytest.mark.parametrize("kind", ["jobs", "schedules", "sensors", "asset_checks"])
def test_the_code_location_holds_exactly_what_the_domains_define(kind):
    merged = set().union(*(_names(_domain(d), kind) for d in DOMAINS))
    assert merged == _names(defs, kind)


def test_the_code_location_has_every_asset_of_every_domain():
    keys = {key for d in DOMAINS for a in _domain(d).assets or () for key in a.keys}
    assert keys == set(defs.get_repository_def().asset_graph.get_all_asset_keys())


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_kind_of_definition_lives_in_the_file_of_its_name(domain):
    own = _domain(domain)
    for kind, module in ROLES.items():
        if not getattr(own, kind):
            continue
        home = importlib.import_module(f"analytics_assets.{domain}.{module}")
        if kind in FROM_SPEC_FILES.get(domain, ()):  # one per spec file: the factory lives in that file
            assert any(name.startswith("build_") and callable(value) and value.__module__ == home.__name__
                       for name, value in vars(home).items()), f"{domain}: no factory defined in {module}.py"
            continue
        defined_there = [value for value in vars(home).values()]
        for definition in getattr(own, kind):
            assert any(definition is value or (isinstance(value, list) and definition in value)
                       for value in defined_there), f"{domain}: {definition!r} is not defined in {module}.py"
