"""`analytics-assets api`: serve the datamart API with uvicorn."""

from __future__ import annotations

import argparse

from analytics_assets import settings
from analytics_assets.settings import SettingError

LOCAL_HOSTS = ("127.0.0.1", "::1")


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from analytics_assets.api.app import create_app
    from analytics_assets.api.auth import Tokens
    from analytics_assets.api.dagster import DagsterWebserver

    tokens = settings.api_tokens()
    if not tokens and not args.insecure_local:
        raise SettingError(f"{settings.API_TOKENS} is not set: the API refuses to serve without bearer tokens "
                           "(comma-separated, 16+ characters each); for a trial on this machine only, pass "
                           "--insecure-local with --host 127.0.0.1")
    if not tokens and args.host not in LOCAL_HOSTS:
        raise SettingError(f"--insecure-local serves 127.0.0.1 (or ::1) only, not {args.host!r}: set "
                           f"{settings.API_TOKENS} to serve other hosts")
    webserver = DagsterWebserver(settings.dagster_url())
    app = create_app(Tokens(tokens), webserver, insecure_local=not tokens)
    access = f"{len(tokens)} token(s)" if tokens else "NO TOKENS (--insecure-local: anyone on this machine)"
    print(f"datamart API on http://{args.host}:{args.port} (docs: /docs); {access}; "
          f"Dagster webserver: {webserver.url}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False)
    return 0


def add_commands(sub) -> None:
    api = sub.add_parser("api", help="the datamart API over HTTP (the original Airflow examples' /api/v1/mvp paths)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--insecure-local", action="store_true",
                     help=f"serve without {settings.API_TOKENS} (only on 127.0.0.1)")
    api.set_defaults(func=cmd_api)
