"""`analytics-assets`: the project's own commands, next to Dagster's `dagster dev` / `job execute`."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from analytics_assets import settings
from analytics_assets.resources.local_postgres import LocalPostgresError
from analytics_assets.settings import SettingError
from analytics_assets.warehouse import registry


def _as_of(value: str | None) -> datetime:
    from analytics_assets.logical_time import parse_as_of

    if value:
        return parse_as_of(value, source="--as-of")
    return datetime.now(timezone.utc).replace(microsecond=0)


def _source_dsn(dsn: str | None) -> str:
    from analytics_assets.resources import PostgresResource

    return dsn or PostgresResource().resolved_dsn()


def _check_source(dsn: str, where: str) -> None:
    """Connect once first, so that a bad DSN is one line naming it, password masked (the
    generator's own connection would end in a traceback)."""
    from analytics_assets.resources import PostgresResource

    try:
        with PostgresResource(dsn=dsn).connect():
            pass
    except SettingError as exc:
        raise SettingError(str(exc).replace(settings.POSTGRES_DSN, where, 1)) from None


def cmd_postgres(args: argparse.Namespace) -> int:
    from analytics_assets.resources.local_postgres import default_local_postgres

    server = default_local_postgres()
    if args.action == "start":
        print(server.start())
    elif args.action == "stop":
        server.stop()
        print("stopped")
    else:
        status = server.status()
        print(f"running: {status.dsn}" if status.running else f"not running (data in {status.data_dir})")
        return 0 if status.running else 3
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from analytics_assets.demo import generator

    dsn = _source_dsn(args.dsn)
    as_of = None if args.activity else _as_of(args.as_of)  # arguments first, then the connection
    _check_source(dsn, "--dsn" if args.dsn else settings.POSTGRES_DSN)
    if args.activity:
        result = generator.apply_activity(dsn, seed=args.seed, progress=print)
        print(
            f"activity {result.window_start.isoformat()} .. {result.window_end.isoformat()}: "
            f"{result.new_sales} new sales, {result.status_changes} status changes"
        )
        return 0
    result = generator.generate(
        dsn,
        customers=args.customers,
        products=args.products,
        sales=args.sales,
        seed=args.seed,
        as_of=as_of,
        dirty=args.dirty,
        progress=print,
    )
    print(
        f"generated {result.customers} customers, {result.products} products, {result.sales} sales "
        f"in {result.seconds:.1f} s" + (f"; dirty rows: {result.dirty_rows}" if result.dirty_rows else "")
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from analytics_assets.demo.run import run_demo

    return run_demo(sales=args.sales, customers=args.customers, products=args.products, seed=args.seed,
                    regenerate=args.regenerate, dirty=args.dirty)


def cmd_env(args: argparse.Namespace) -> int:
    """The lines that point a shell's `dagster ...` at the project's instance and data:
    `eval "$(.venv/bin/analytics-assets env)"`. Without DAGSTER_HOME, Dagster's commands run on a
    throwaway instance the UI never sees."""
    import shlex
    from pathlib import Path

    home = settings.use_project_instance()
    lines = {settings.DATA_DIR: settings.data_dir(), settings.DAGSTER_HOME: home}
    for name, value in lines.items():
        print(f"export {name}={shlex.quote(str(value))}")
    venv_bin = Path(sys.executable).parent
    print(f'export PATH={shlex.quote(str(venv_bin))}:"$PATH"')
    return 0


def cmd_dev(dagster_args: list[str]) -> int:
    """`dagster dev` on the project's instance that stops on Ctrl-C and SIGTERM, also when started
    in the background: a shell starts background jobs with SIGINT ignored, and `dagster dev` maps
    SIGTERM to SIGINT's handler, so both would be ignored (the daemon staying up)."""
    import os
    import signal
    from pathlib import Path

    settings.use_project_instance()
    os.environ.setdefault(settings.DATA_DIR, str(settings.data_dir()))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)  # kept across exec: Python then installs its own handler
    dagster = Path(sys.executable).with_name("dagster")
    rest = list(dagster_args)
    target = [] if any(a in rest for a in ("-m", "-f", "-w", "--module-name", "--python-file", "--workspace")) \
        else ["-m", "analytics_assets.definitions"]
    os.execv(dagster, [str(dagster), "dev", *target, *rest])
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analytics-assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="start the local PostgreSQL, generate data, materialize every asset")
    demo.add_argument("--sales", type=int, default=1_000_000)
    demo.add_argument("--customers", type=int, default=None, help="default: sales / 20")
    demo.add_argument("--products", type=int, default=500)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--dirty", action="store_true", help="include realistic bad rows")
    demo.add_argument("--regenerate", action="store_true",
                      help="regenerate the source data (default: generate once, then add an hour of activity)")
    demo.set_defaults(func=cmd_demo)

    env = sub.add_parser("env", help="print the lines that point dagster ... at the project's instance: "
                                     'eval "$(.venv/bin/analytics-assets env)"')
    env.set_defaults(func=cmd_env)

    dev = sub.add_parser("dev", add_help=False,
                         help="dagster dev on the project's instance, stopping on Ctrl-C or SIGTERM "
                              "(arguments go to dagster dev, e.g. -p 3000)")
    dev.set_defaults(func=lambda _: cmd_dev([]))  # with arguments, main() passes them on as they are

    pg = sub.add_parser("postgres", help="the local PostgreSQL server under $ANALYTICS_DATA_DIR/postgres")
    pg.add_argument("action", choices=["start", "stop", "status"])
    pg.set_defaults(func=cmd_postgres)

    gen = sub.add_parser("generate", help="fill a source database with deterministic demo data")
    gen.add_argument("--dsn", help=f"default ${settings.POSTGRES_DSN}, else the local server")
    gen.add_argument("--customers", type=int, default=50_000)
    gen.add_argument("--products", type=int, default=500)
    gen.add_argument("--sales", type=int, default=1_000_000)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--as-of", help="ISO-8601 logical now of the data set (default: now, UTC)")
    gen.add_argument("--dirty", action="store_true", help="add realistic bad rows")
    gen.add_argument("--activity", action="store_true",
                     help="instead: apply one hour of activity (new sales, status changes) to existing data")
    gen.set_defaults(func=cmd_generate)

    from analytics_assets.api.commands import add_commands as api_commands
    from analytics_assets.datamarts.commands import add_commands as datamart_commands
    from analytics_assets.events.commands import add_commands as funnel_commands
    from analytics_assets.reports.commands import add_commands as report_commands

    datamart_commands(sub)
    report_commands(sub)
    funnel_commands(sub)
    api_commands(sub)
    return parser


def _code_location():
    """The code location's repository, loaded only if a command asks (a guard naming the jobs that
    build a missing table, e.g. in `report run`)."""
    from analytics_assets.definitions import defs

    return defs.get_repository_def()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["dev"]:
        return cmd_dev(argv[1:])
    args = build_parser().parse_args(argv)
    registry.register_code_location(_code_location)
    try:
        return args.func(args)
    except (SettingError, ValueError, LookupError, OSError, RuntimeError, LocalPostgresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
