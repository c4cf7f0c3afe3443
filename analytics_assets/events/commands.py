"""`analytics-assets funnel list|validate`: the funnel definitions the code location will load."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics_assets.events.funnel_spec import FunnelSpecError, funnel_folders, load_funnel, load_funnels
from analytics_assets.spec_files import print_problems, spec_paths


def cmd_list(args: argparse.Namespace) -> int:
    specs, errors = load_funnels()
    for spec in specs:
        filters = "; ".join(f"{k} in {', '.join(v)}" for k, v in spec.filters)
        print(f"{spec.table:<32} {' -> '.join(spec.steps)} within {spec.window}"
              + (f" ({filters})" if filters else "") + f"  [{spec.source}]")
    for error in errors:
        print(f"left out: {error}", file=sys.stderr)
    return 1 if errors else 0


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.files] or spec_paths(funnel_folders())
    failed = 0
    for path in paths:
        try:
            spec = load_funnel(path)
        except FunnelSpecError as error:
            failed += 1
            print_problems(error)
            continue
        print(f"{path}: ok ({spec.table}: {' -> '.join(spec.steps)} within {spec.window})")
    return 1 if failed else 0


def add_commands(sub) -> None:
    funnel = sub.add_parser("funnel", help="funnel definitions (shipped and $ANALYTICS_FUNNELS_DIR)")
    actions = funnel.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every funnel the code location loads, and those left out")
    listing.set_defaults(func=cmd_list)
    validate = actions.add_parser("validate", help="check definitions field by field (default: every folder)")
    validate.add_argument("files", nargs="*", help="YAML files (default: the shipped folder and $ANALYTICS_FUNNELS_DIR)")
    validate.set_defaults(func=cmd_validate)
