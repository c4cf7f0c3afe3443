"""Grafana provisioning for the official ClickHouse plugin (`grafana-clickhouse-datasource`): the
data source from our ClickHouse settings (the password as an environment placeholder, never the
value) and dashboards whose panels are `.sql` files in `panels/`, using Grafana's macros."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from analytics_assets import settings
from analytics_assets.files import atomic_path

PANELS = Path(__file__).with_name("panels")
DATASOURCE_UID = "analytics-clickhouse"
PASSWORD_PLACEHOLDER = "${ANALYTICS_CLICKHOUSE_PASSWORD}"  # Grafana fills it from its environment


@dataclass(frozen=True)
class Panel:
    title: str
    sql: str  # file name in panels/
    kind: str  # timeseries | barchart | table
    unit: str = ""


DASHBOARDS = {
    "sales": ("Sales", [
        Panel("Daily net revenue and orders", "daily_net_revenue", "timeseries", "currencyUSD"),
        Panel("Average order value", "average_order_value", "timeseries", "currencyUSD"),
        Panel("Revenue by category (last 30 days)", "revenue_by_category", "barchart", "currencyUSD"),
        Panel("Revenue by region (last 30 days)", "revenue_by_region", "barchart", "currencyUSD"),
        Panel("This year against last year", "year_over_year", "timeseries", "currencyUSD"),
    ]),
    "web": ("Web metrics", [
        Panel("Pageviews per hour", "web_pageviews_hourly", "timeseries"),
        Panel("Pageviews per day and 7-day moving average", "web_pageviews_moving_average", "timeseries"),
        Panel("Anomalies (|z| above the threshold, same hour of the week)", "web_anomalies", "table"),
    ]),
    "customers": ("Customer segments", [
        Panel("Customers, revenue and model CLV by RFM segment", "customer_segments", "barchart", "currencyUSD"),
    ]),
    "events": ("Product funnels", [
        Panel("Purchase funnel: users reaching each step", "purchase_funnel_steps", "barchart"),
        Panel("Purchase conversion (view to purchase within the hour) per day", "purchase_funnel_conversion",
              "timeseries", "percentunit"),
        Panel("Event retention by first-seen week", "event_retention", "table"),
    ]),
}


def panel_sql(panel: Panel) -> str:
    return (PANELS / f"{panel.sql}.sql").read_text(encoding="utf-8").strip()


def expand_macros(sql: str, start: datetime, end: datetime) -> str:
    """What the plugin sends for a concrete time range (for tests and for people reading the SQL)."""
    frm, to = (f"toDateTime({int(t.timestamp())})" for t in (start, end))
    sql = re.sub(r"\$__timeFilter\(([^()]*(?:\([^()]*\))?[^()]*)\)", rf"\1 >= {frm} AND \1 <= {to}", sql)
    return sql.replace("$__fromTime", frm).replace("$__toTime", to)


def datasource() -> dict:
    """The provisioning document for the data source, from ANALYTICS_CLICKHOUSE_DSN (a server's
    host, port and user; for the embedded engine, a server on localhost to point at)."""
    target = settings.clickhouse_target()
    parts = urlsplit(target.dsn) if not target.embedded else urlsplit("http://default@localhost:8123")
    secure = parts.scheme == "https"
    return {
        "apiVersion": 1,
        "datasources": [{
            "name": "Analytics ClickHouse",
            "uid": DATASOURCE_UID,
            "type": "grafana-clickhouse-datasource",
            "jsonData": {
                "host": parts.hostname, "port": parts.port or (8443 if secure else 8123), "protocol": "http",
                "secure": secure, "username": parts.username or "default",
                "defaultDatabase": target.database,
            },
            "secureJsonData": {"password": PASSWORD_PLACEHOLDER},
            "editable": False,
        }],
    }


def dashboard(key: str) -> dict:
    title, panels = DASHBOARDS[key]
    built = []
    for i, panel in enumerate(panels):
        built.append({
            "id": i + 1, "title": panel.title, "type": panel.kind,
            "gridPos": {"x": (i % 2) * 12, "y": (i // 2) * 8, "w": 12, "h": 8},
            "datasource": {"type": "grafana-clickhouse-datasource", "uid": DATASOURCE_UID},
            "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
            "targets": [{"refId": "A", "editorType": "sql", "format": 1 if panel.kind == "timeseries" else 0,
                         "queryType": "timeseries" if panel.kind == "timeseries" else "table",
                         "rawSql": panel_sql(panel),
                         "datasource": {"type": "grafana-clickhouse-datasource", "uid": DATASOURCE_UID}}],
        })
    return {"uid": f"analytics-{key}", "title": f"Analytics: {title}", "tags": ["analytics-assets"],
            "timezone": "utc", "schemaVersion": 39, "time": {"from": "now-30d", "to": "now"}, "panels": built}


def write_provisioning(root: Path) -> list[Path]:
    """`root/provisioning/{datasources,dashboards}/*.yaml` and `root/dashboards/*.json`: point
    Grafana's `paths.provisioning` at `root/provisioning`."""
    files = {
        root / "provisioning" / "datasources" / "analytics-clickhouse.yaml": yaml.safe_dump(datasource(), sort_keys=False),
        root / "provisioning" / "dashboards" / "analytics.yaml": yaml.safe_dump({
            "apiVersion": 1,
            "providers": [{"name": "analytics-assets", "folder": "Analytics", "type": "file",
                           "allowUiUpdates": False, "options": {"path": str(root / "dashboards")}}]},
            sort_keys=False),
        **{root / "dashboards" / f"{key}.json": json.dumps(dashboard(key), indent=2) for key in DASHBOARDS},
    }
    for path, text in files.items():
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return sorted(files)
