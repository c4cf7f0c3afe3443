"""The environment contract (DESIGN.md) in one place: variable names, defaults, validation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

POSTGRES_DSN = "ANALYTICS_POSTGRES_DSN"
CLICKHOUSE_DSN = "ANALYTICS_CLICKHOUSE_DSN"
CLICKHOUSE_DATABASE = "ANALYTICS_CLICKHOUSE_DATABASE"
DATA_DIR = "ANALYTICS_DATA_DIR"
AS_OF = "ANALYTICS_AS_OF"

DEFAULT_DATABASE = "analytics"


class SettingError(ValueError):
    """A setting (environment variable or config field) has a value we cannot use."""


def data_dir() -> Path:
    """`$ANALYTICS_DATA_DIR`, default `./.data`, as an absolute path."""
    return Path(os.environ.get(DATA_DIR) or ".data").expanduser().resolve()


DAGSTER_HOME = "DAGSTER_HOME"


def dagster_home() -> Path:
    """The project's Dagster instance: `$DAGSTER_HOME`, default `$ANALYTICS_DATA_DIR/dagster_home`."""
    return Path(os.environ.get(DAGSTER_HOME) or data_dir() / "dagster_home").expanduser().resolve()


def use_project_instance() -> Path:
    """Point this process's Dagster at the project's instance (created with telemetry off and the
    UI's first-visit modal dismissed), so that what our commands run shows in the UI."""
    home = dagster_home()
    os.environ[DAGSTER_HOME] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    nux = home / ".nux" / "nux.yaml"
    if not nux.exists():
        nux.parent.mkdir(exist_ok=True)
        nux.write_text("seen: 1\n")
    return home


def default_clickhouse_dsn() -> str:
    return f"chdb://{data_dir() / 'clickhouse'}"


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where the warehouse is. Embedded (chDB) allows one process at a time, which decides the
    executor (steps in the run's process) and the pool; a server takes parallel processes."""

    dsn: str
    database: str

    @property
    def embedded(self) -> bool:
        return is_chdb(self.dsn)


def clickhouse_target() -> ClickHouseTarget:
    """$ANALYTICS_CLICKHOUSE_DSN (default chdb://$ANALYTICS_DATA_DIR/clickhouse) and
    $ANALYTICS_CLICKHOUSE_DATABASE (default 'analytics'): the one answer every place uses."""
    return ClickHouseTarget(dsn=os.environ.get(CLICKHOUSE_DSN) or default_clickhouse_dsn(),
                            database=os.environ.get(CLICKHOUSE_DATABASE) or DEFAULT_DATABASE)


def is_set(name: str) -> bool:
    """Whether the variable has a value: a resource field then takes it as a dagster.EnvVar (the
    UI shows the name, never the value); unset, the field keeps its default."""
    return bool(os.environ.get(name))


def postgres_dsn() -> str | None:
    """$ANALYTICS_POSTGRES_DSN, None when unset (the local server started by
    `analytics-assets postgres start` then serves)."""
    return os.environ.get(POSTGRES_DSN) or None


POSTGRES_BINDIR = "ANALYTICS_POSTGRES_BINDIR"


def postgres_bindir() -> str | None:
    """Where the local server's PostgreSQL binaries are, when set (else they are looked for)."""
    return os.environ.get(POSTGRES_BINDIR) or None


def as_of() -> str | None:
    """$ANALYTICS_AS_OF as written (parsed where it is used), None when unset."""
    return os.environ.get(AS_OF) or None


BI_USER, BI_PASSWORD = "ANALYTICS_BI_USER", "ANALYTICS_BI_PASSWORD"
DEFAULT_BI_USER = "analytics_bi"


def bi_user() -> str:
    """The read-only ClickHouse user for BI tools (validated as an identifier where it is used)."""
    return os.environ.get(BI_USER) or DEFAULT_BI_USER


def bi_password() -> str | None:
    """That user's password, None when unset."""
    return os.environ.get(BI_PASSWORD) or None


TRANSFER_MODE = "ANALYTICS_TRANSFER_MODE"


def transfer_mode() -> str | None:
    """How replicas are pulled ('client' or 'server'; validated where it is used), None when unset."""
    return os.environ.get(TRANSFER_MODE) or None


def is_chdb(dsn: str) -> bool:
    return dsn.startswith("chdb:")


# Web metrics (issue 5): which metrics are averages, the anomaly threshold (the feed's own settings: WEB).
WEB_GAUGE_METRICS = "ANALYTICS_WEB_GAUGE_METRICS"
WEB_ANOMALY_Z = "ANALYTICS_WEB_ANOMALY_Z"

DEFAULT_WEB_GAUGE_METRICS = ("bounce_rate", "conversion_rate", "avg_session_duration_s", "page_load_time_ms")


def landing_dir(kind: str) -> Path:
    """`$ANALYTICS_DATA_DIR/landing/<kind>/` (e.g. `web`)."""
    return data_dir() / "landing" / kind


def _number(name: str, default: float, *, minimum: float, integer: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise SettingError(f"{name}: {raw!r} is not {kind}") from None
    if not value >= minimum or value != value or value in (float("inf"), float("-inf")):
        raise SettingError(f"{name}: {raw!r} must be a finite number >= {minimum}")
    return value


def web_gauge_metrics() -> tuple[str, ...]:
    """Metrics whose hourly/daily value is the average of their points (rates, durations);
    every other metric is additive (its value is the sum)."""
    raw = os.environ.get(WEB_GAUGE_METRICS)
    if raw is None:
        return DEFAULT_WEB_GAUGE_METRICS
    return tuple(sorted({name.strip() for name in raw.split(",") if name.strip()}))


def web_anomaly_z() -> float:
    """|z| above which an hour is an anomaly."""
    return _number(WEB_ANOMALY_Z, 3.0, minimum=0.5)


@dataclass(frozen=True)
class FeedSettings:
    """A landing feed's settings, read from `ANALYTICS_<prefix>_*` (the landing folder is
    `$ANALYTICS_DATA_DIR/landing/<kind>/`)."""

    prefix: str  # WEB: ANALYTICS_WEB_TTL_DAYS, ...
    kind: str
    default_ttl_days: int

    def variable(self, name: str) -> str:
        """The environment variable of setting `name` (e.g. TTL_DAYS) for this feed."""
        return f"ANALYTICS_{self.prefix}_{name}"

    def folder(self) -> Path:
        return landing_dir(self.kind)

    def ttl_days(self) -> int:
        """Days the feed's table keeps its rows (0 = forever); the tables built from it keep theirs."""
        return int(_number(self.variable("TTL_DAYS"), self.default_ttl_days, minimum=0, integer=True))

    def max_bad_rows_pct(self) -> float:
        """A file with more bad rows than this share is rejected whole (its good rows wait in the file)."""
        return _number(self.variable("MAX_BAD_ROWS_PCT"), 10.0, minimum=0)

    def future_tolerance_minutes(self) -> int:
        """How far past the load time a row's time may be (clock skew) before it is refused."""
        return int(_number(self.variable("FUTURE_TOLERANCE_MINUTES"), 10, minimum=0, integer=True))

    def start_date(self) -> str:
        """The first day of the feed's daily partitions (ISO date)."""
        return _iso_date(self.variable("START_DATE"), "2024-01-01")


WEB = FeedSettings("WEB", "web", default_ttl_days=90)
EVENTS = FeedSettings("EVENTS", "events", default_ttl_days=395)


def first_days_file() -> Path:
    """Where the demo records the first day of the data it wrote, per start-date variable: the
    partitions then start where the data does (no wall of empty days in the UI). A variable that
    is set wins; the file goes with the data directory."""
    return data_dir() / "first_days.json"


def _iso_date(name: str, default: str) -> str:
    raw = os.environ.get(name)
    if not raw and first_days_file().exists():
        import json

        raw = json.loads(first_days_file().read_text()).get(name)
    raw = (raw or default).strip()
    try:
        date.fromisoformat(raw)
    except ValueError:
        raise SettingError(f"{name}: {raw!r} is not an ISO date (YYYY-MM-DD)") from None
    return raw


DEFINITIONS_DIR = "ANALYTICS_DEFINITIONS_DIR"
DATAMARTS_DIR = "ANALYTICS_DATAMARTS_DIR"
EXPORTS_DIR = "ANALYTICS_EXPORTS_DIR"


def definitions_dir() -> Path:
    """Your own datamart, report and funnel definitions: `$ANALYTICS_DEFINITIONS_DIR`, default
    `./definitions`, a folder to keep under version control. Never under the data directory, which
    `make clean` deletes."""
    return Path(os.environ.get(DEFINITIONS_DIR) or "definitions").expanduser().resolve()


def _definitions(variable: str, kind: str) -> Path:
    raw = os.environ.get(variable)
    return Path(raw).expanduser().resolve() if raw else definitions_dir() / kind


def datamarts_dir() -> Path:
    """Where `analytics-assets datamart create` writes specs and the code location reads them."""
    return _definitions(DATAMARTS_DIR, "datamarts")


def exports_dir() -> Path:
    """Where the datamarts' Excel exports are written."""
    raw = os.environ.get(EXPORTS_DIR)
    return Path(raw).expanduser().resolve() if raw else data_dir() / "exports"


REPORTS_DIR = "ANALYTICS_REPORTS_DIR"
SMTP = {name: f"ANALYTICS_SMTP_{name.upper()}" for name in ("host", "port", "user", "password", "sender", "tls")}


def smtp_values() -> dict[str, str]:
    """The ANALYTICS_SMTP_* variables that are set, by field name (host, port, ...)."""
    return {name: os.environ[var] for name, var in SMTP.items() if os.environ.get(var)}


def smtp_configured() -> bool:
    """Whether a mail server is set (ANALYTICS_SMTP_HOST): without one no e-mail can go out."""
    return is_set(SMTP["host"])


def reports_dir() -> Path:
    """Where report definitions (`*.yaml`) are read from."""
    return _definitions(REPORTS_DIR, "reports")


def report_output_dir() -> Path:
    """Where report files are written: `<this>/<report>/<period>.xlsx`."""
    return data_dir() / "reports"


# Funnels (issue 10): where their specs are (the events feed's own settings: EVENTS).
FUNNELS_DIR = "ANALYTICS_FUNNELS_DIR"


def funnels_dir() -> Path:
    """Where funnel definitions (`*.yaml`) are read from, beside the shipped examples."""
    return _definitions(FUNNELS_DIR, "funnels")


# Landing folders (issue 20): what the quarantine keeps of a bad row, and who else may read it.
LANDING_QUARANTINE_MAX_LINE_BYTES = "ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES"
LANDING_QUARANTINE_MAX_ROWS_PER_FILE = "ANALYTICS_LANDING_QUARANTINE_MAX_ROWS_PER_FILE"
BI_READ_LANDING_TABLES = "ANALYTICS_BI_READ_LANDING_TABLES"


def landing_quarantine_max_line_bytes() -> int:
    """Bytes of a bad line the quarantine keeps; a longer line is cut and marked."""
    return int(_number(LANDING_QUARANTINE_MAX_LINE_BYTES, 4096, minimum=64, integer=True))


def landing_quarantine_max_rows_per_file() -> int:
    """Bad rows of one file the quarantine keeps (the first ones); the rest are counted only."""
    return int(_number(LANDING_QUARANTINE_MAX_ROWS_PER_FILE, 1000, minimum=0, integer=True))


def bi_read_landing_tables() -> bool:
    """Whether the read-only BI user may read the landing registries and quarantines (`*_files`,
    `*_quarantine`: file names and raw bad lines); by default it may not."""
    raw = (os.environ.get(BI_READ_LANDING_TABLES) or "false").strip().lower()
    if raw not in ("1", "true", "yes", "0", "false", "no"):
        raise SettingError(f"{BI_READ_LANDING_TABLES}: {raw!r} is not true or false")
    return raw in ("1", "true", "yes")


# Alerts (issue 17): who is told, and the second channel (a JSON POST, e.g. a Slack webhook).
ALERT_RECIPIENTS = "ANALYTICS_ALERT_RECIPIENTS"
ANOMALY_RECIPIENTS = "ANALYTICS_ANOMALY_RECIPIENTS"
ALERT_WEBHOOK_URL = "ANALYTICS_ALERT_WEBHOOK_URL"


def _addresses(name: str) -> list[str]:
    found = [r.strip() for r in (os.environ.get(name) or "").split(",") if r.strip()]
    bad = [r for r in found if "@" not in r or any(c.isspace() or c in "<>,;" for c in r)]
    if bad:
        raise SettingError(f"{name}: not e-mail addresses: {', '.join(repr(b) for b in bad)}")
    return found


def alert_recipients() -> list[str]:
    """Who gets failed runs, failed checks and freshness breaches by e-mail."""
    return _addresses(ALERT_RECIPIENTS)


def anomaly_recipients() -> list[str]:
    """Who gets the anomalies of the last complete hour of web metrics by e-mail."""
    return _addresses(ANOMALY_RECIPIENTS)


def alert_webhook_url() -> str | None:
    """Where every alert is also POSTed as JSON. The URL is a secret (a Slack webhook's path is
    its token): errors name the variable, never the value."""
    from urllib.parse import urlsplit

    raw = (os.environ.get(ALERT_WEBHOOK_URL) or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(f"{ALERT_WEBHOOK_URL}: not an http(s) URL with a host")
    return raw


# Where the configured secrets live: every variable named like a password, the passwords inside
# the DSNs, the API tokens. Read by the quarantine to mask them, never logged.
SECRET_DSNS = (POSTGRES_DSN, CLICKHOUSE_DSN)
API_TOKENS = "ANALYTICS_API_TOKENS"


def secret_values(*extra: str | None) -> tuple[str, ...]:
    """Every configured secret value (plus `extra`, e.g. a resource's literal password), longest
    first: `*PASSWORD` variables (SMTP, BI, Grafana's ANALYTICS_CLICKHOUSE_PASSWORD,
    DAGSTER_PG_PASSWORD, PGPASSWORD), the password of each DSN, each ANALYTICS_API_TOKENS entry
    (comma or space separated; `name:token` gives the token too)."""
    from analytics_assets.secrets import dsn_password

    found = {value for name, value in os.environ.items() if name.upper().endswith("PASSWORD")}
    found.add(os.environ.get(ALERT_WEBHOOK_URL) or "")  # its path is its token
    found.update(dsn_password(os.environ.get(name) or "") for name in SECRET_DSNS)
    for entry in (os.environ.get(API_TOKENS) or "").replace(",", " ").split():
        found.update((entry, entry.rsplit(":", 1)[-1], entry.rsplit("=", 1)[-1]))
    found.update(extra)
    return tuple(sorted((s for s in found if s and s.strip()), key=lambda s: (-len(s), s)))


# The HTTP API (issue 17): who may call it, and the Dagster webserver it asks to reload the code
# location and launch runs.
DAGSTER_URL = "ANALYTICS_DAGSTER_URL"
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
API_MIN_TOKEN_LENGTH = 16


def api_tokens() -> tuple[str, ...]:
    """The bearer tokens ANALYTICS_API_TOKENS accepts (comma-separated), each at least 16
    characters: a short token is guessable, so it is refused rather than served."""
    tokens = tuple(t.strip() for t in (os.environ.get(API_TOKENS) or "").split(",") if t.strip())
    short = [str(i) for i, token in enumerate(tokens, 1) if len(token) < API_MIN_TOKEN_LENGTH]
    if short:
        raise SettingError(f"{API_TOKENS}: token {', '.join(short)} (counting from 1) is shorter than "
                           f"{API_MIN_TOKEN_LENGTH} characters; use e.g. `python -c 'import secrets; "
                           "print(secrets.token_urlsafe(32))'`")
    return tokens


def dagster_url() -> str:
    """The Dagster webserver's base URL (`dagster dev` listens on 127.0.0.1:3000 by default)."""
    from urllib.parse import urlsplit

    raw = (os.environ.get(DAGSTER_URL) or DEFAULT_DAGSTER_URL).strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingError(f"{DAGSTER_URL}: {raw!r} is not an http(s)://host[:port][/path] URL")
    return raw
