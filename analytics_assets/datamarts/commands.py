"""`analytics-assets datamart create|validate|list|show` and `export excel`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analytics_assets import settings
from analytics_assets.datamarts import catalog
from analytics_assets.datamarts.spec import SpecError, load_spec
from analytics_assets.spec_files import print_problems


def cmd_create(args: argparse.Namespace) -> int:
    if args.from_file:
        import yaml

        data = yaml.safe_load(Path(args.from_file).read_text(encoding="utf-8"))
        source = args.from_file
    else:
        query = Path(args.query_file).read_text(encoding="utf-8") if args.query_file else args.query
        data = {"name": args.name, "type": args.type, "query": query, "description": args.description,
                "refresh_strategy": "scheduled" if args.schedule else args.strategy,
                "refresh_schedule": args.schedule, "indexes": args.indexes, "owners": args.owner or None,
                "partition_by": args.partition_by, "excel": args.excel}
        checks = {"min_rows": args.min_rows, "not_null": args.not_null, "unique_key": args.unique_key}
        data["checks"] = {k: v for k, v in checks.items() if v} or None
        data = {k: v for k, v in data.items() if v not in (None, "", False)}
        source = f"datamart {args.name}"
    try:
        spec, path = catalog.create(data, source=source, replace=args.force)
    except SpecError as exc:
        print_problems(exc)
        return 1
    except catalog.DatamartConflict as exc:
        print(f"error: {exc}" + (" (--force replaces it)" if exc.replaceable else ""), file=sys.stderr)
        return 1
    print(f"created {path}")
    print("reload the code location (or restart dagster dev) to see it; materialize it with:")
    print(f"  dagster asset materialize -m analytics_assets.definitions --select {spec.name}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for raw in args.paths:
        try:
            spec = catalog.verified(load_spec(Path(raw)))
        except SpecError as exc:
            print_problems(exc)
            failed += 1
            continue
        schedule = f", {spec.refresh_schedule} UTC" if spec.refresh_schedule else ""
        print(f"{raw}: ok: {spec.name} ({spec.type}, {spec.refresh_strategy}{schedule}; "
              f"reads {', '.join(spec.tables) or 'no table'})")
    return 1 if failed else 0


def cmd_list(args: argparse.Namespace) -> int:
    specs, errors = catalog.listing()
    print(f"{'name':<32} {'type':<18} {'refresh':<22} spec")
    for spec in specs:
        print(f"{spec.name:<32} {spec.type:<18} {spec.refresh_schedule or spec.refresh_strategy:<22} {spec.source}")
    for error in errors:
        print(f"{'(invalid)':<32} {'':<18} {'':<22} {error}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from analytics_assets.resources import ClickHouseResource

    spec = catalog.find(args.name)
    if spec is None:
        print(f"error: no datamart named {args.name!r} (see: analytics-assets datamart list)", file=sys.stderr)
        return 1
    print(f"# {spec.source}")
    print(spec.to_yaml(), end="")
    print(f"# reads: {', '.join(spec.tables) or 'no table'}")
    if spec.refresh_strategy == "scheduled":
        print(f"# schedule: {spec.name}_refresh ({spec.refresh_schedule} UTC)")
    with ClickHouseResource().get_client() as wh:
        state = catalog.state(wh, spec.name)
    if state:
        rows = state["rows"]
        print(f"# in ClickHouse: {state['engine']}, {rows if rows is not None else '-'} rows, "
              f"{(state['bytes'] or 0) / 2**20:.1f} MiB, last built {state['last_built_utc']} UTC")
    else:
        print("# in ClickHouse: not built yet")
    return 0


def cmd_export_excel(args: argparse.Namespace) -> int:
    from analytics_assets.exports.excel import export_table
    from analytics_assets.resources import ClickHouseResource
    from analytics_assets.identifiers import validate_identifier

    validate_identifier(args.name, what="NAME")
    spec = catalog.find(args.name)
    output = Path(args.output) if args.output else settings.exports_dir() / f"{args.name}.xlsx"
    charts, summary = catalog.export_flags(spec, None if not args.no_charts else False, None if not args.no_summary else False)
    with ClickHouseResource().get_client() as wh:
        result = export_table(wh, args.name, output, title=args.name, description=spec.description if spec else "",
                              split=not args.no_split, include_charts=charts, include_summary=summary)
    print(f"wrote {result.path}: {result.rows:,} rows on {', '.join(result.sheets)}; {result.charts} chart(s)")
    return 0


def add_commands(sub) -> None:
    datamart = sub.add_parser("datamart", help="datamart specs: create, validate, list, show")
    actions = datamart.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="validate a datamart (with ClickHouse) and write its spec file")
    create.add_argument("name", nargs="?")
    what = create.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help="one ClickHouse SELECT")
    what.add_argument("--query-file", help="a file holding the SELECT")
    what.add_argument("--from-file", help="a spec YAML file to validate and add")
    create.add_argument("--type", choices=["table", "view", "materialized_view"], default="table")
    create.add_argument("--schedule", help="cron (UTC); implies refresh_strategy scheduled")
    create.add_argument("--strategy", choices=["manual", "on_upstream_change"], default="manual")
    create.add_argument("--description", default="")
    create.add_argument("--indexes", help="sort key columns, comma-separated")
    create.add_argument("--owner", action="append", help="e-mail or team:<name> (repeatable)")
    create.add_argument("--partition-by", help="column or toYYYYMM(column) etc.")
    create.add_argument("--min-rows", type=int)
    create.add_argument("--not-null", help="columns, comma-separated")
    create.add_argument("--unique-key", help="columns, comma-separated")
    create.add_argument("--excel", action="store_true", help="also keep an Excel export up to date")
    create.add_argument("--force", action="store_true", help="replace an existing spec of the same name")
    create.set_defaults(func=cmd_create)

    validate = actions.add_parser("validate", help="check spec files (exit 1 on any problem)")
    validate.add_argument("paths", nargs="+")
    validate.set_defaults(func=cmd_validate)

    listing = actions.add_parser("list", help="every datamart spec, and the invalid ones")
    listing.set_defaults(func=cmd_list)

    show = actions.add_parser("show", help="a datamart's spec and its state in ClickHouse")
    show.add_argument("name")
    show.set_defaults(func=cmd_show)

    export = sub.add_parser("export", help="export a datamart")
    formats = export.add_subparsers(dest="format", required=True)
    excel = formats.add_parser("excel", help="a workbook: data, summary, charts")
    excel.add_argument("name")
    excel.add_argument("--output", help=f"default ${settings.EXPORTS_DIR} (default $ANALYTICS_DATA_DIR/exports)/NAME.xlsx")
    excel.add_argument("--no-split", action="store_true", help="refuse rather than split past Excel's row limit")
    excel.add_argument("--no-charts", action="store_true", help="no Charts sheet (default: the spec's excel: setting)")
    excel.add_argument("--no-summary", action="store_true", help="no Summary sheet (default: the spec's excel: setting)")
    excel.set_defaults(func=cmd_export_excel)
