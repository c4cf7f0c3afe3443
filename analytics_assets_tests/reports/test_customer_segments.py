"""The customer_segments report against an independent pandas computation of the seed's RFM
segments (scores, labels, the simple 3-year CLV) over the same sales, for October 2026; mailed
once through a real SMTP server."""

from __future__ import annotations

import io
import random
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import openpyxl
import pandas as pd
import pytest

from analytics_assets.reports.assets import build_report_assets, report_path
from analytics_assets.reports.spec import ReportSpecError, parse_report
from analytics_assets.resources.smtp import SmtpResource
from analytics_assets_tests.support import SALES, insert_sales

REGIONS = ("North America", "Europe", "Asia Pacific")
SEGMENTS = ("Enterprise", "SMB", "Consumer")


def more_sales() -> list[tuple]:
    """Forty more customers buying now and then from September 2025 to November 2026."""
    rng = random.Random(17)
    rows, sid = [(99, "2026-09-30", 10, "SMB", "Europe", "Home", 1, "333.33", "COMPLETED")], 100  # the day before
    for cid in range(10, 50):
        first = date(2025, 9, 1) + timedelta(days=rng.randrange(0, 400))
        for _ in range(rng.randrange(1, 9)):
            day = first + timedelta(days=rng.randrange(0, 60) * rng.randrange(0, 4))
            if day > date(2026, 11, 5):
                continue
            sid += 1
            rows.append((sid, day.isoformat(), cid, SEGMENTS[cid % 3], REGIONS[cid % 3 if cid % 5 else 1],
                         ("Electronics", "Apparel", "Home")[sid % 3], rng.randrange(1, 4),
                         f"{rng.randrange(500, 90000) / 100:.2f}", "COMPLETED" if sid % 9 else "CANCELLED"))
    return rows


def frame() -> pd.DataFrame:
    rows = SALES + more_sales()
    df = pd.DataFrame(rows, columns=["sale_id", "day", "customer_id", "segment", "region", "category", "quantity",
                                     "net", "status"])
    df["sale_date"] = pd.to_datetime(df["day"]).dt.tz_localize("UTC") + pd.Timedelta(hours=12)
    df["net"] = df["net"].map(Decimal)
    return df


def rfm(df: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """The seed's RFM, written again in pandas: 365 days before as_of, quintile scores, labels."""
    window = df[(df.status == "COMPLETED") & (df.sale_date.dt.date >= (as_of.date() - timedelta(days=365)))
                & (df.sale_date < as_of)]
    g = window.groupby("customer_id")
    out = pd.DataFrame({"last": g.sale_date.max(), "first": g.sale_date.min(), "frequency": g.size(),
                        "monetary": g.net.apply(lambda s: sum(s, Decimal(0)))}).reset_index()
    n = len(out)
    out["recency"] = ((as_of - out["last"]).dt.total_seconds() // 86400).astype(int)
    out["r"] = 5 - (5 * (out.recency.rank(method="min").astype(int) - 1)) // n
    out = out.sort_values(["frequency", "customer_id"]).assign(f=[1 + 5 * i // n for i in range(n)])
    out = out.sort_values(["monetary", "customer_id"]).assign(m=[1 + 5 * i // n for i in range(n)])

    def label(r, f, m):
        if r >= 4 and f >= 4 and m >= 4: return "Champions"  # noqa: E701
        if r >= 3 and f >= 3 and m >= 3: return "Loyal Customers"  # noqa: E701
        if r >= 4 and f <= 2: return "New Customers"  # noqa: E701
        if r <= 2 and f >= 3: return "At Risk"  # noqa: E701
        if r <= 2 and f <= 2: return "Lost Customers"  # noqa: E701
        if r >= 3 and m >= 4: return "Big Spenders"  # noqa: E701
        if f >= 4: return "Frequent Buyers"  # noqa: E701
        return "Need Attention"

    out["label"] = [label(r, f, m) for r, f, m in zip(out.r, out.f, out.m)]
    aov = [(m / f).quantize(Decimal("0.01"), ROUND_HALF_UP) for m, f in zip(out.monetary, out.frequency)]
    lifespan = ((out["last"] - out["first"]).dt.total_seconds() // 86400).astype(int)
    per_year = [f / s * 365 if s > 0 else float(f) for f, s in zip(out.frequency, lifespan)]
    out["clv"] = [float(a) * p * 3 for a, p in zip(aov, per_year)]
    return out.set_index("customer_id")


def expected(df: pd.DataFrame, regions: list[str] | None) -> dict:
    end, start = (datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 10, 1, tzinfo=timezone.utc))
    now, before = rfm(df, end), rfm(df, start)
    keep = set(df[df.region.isin(regions)].customer_id) if regions else set(df.customer_id)
    october = df[(df.status == "COMPLETED") & (df.sale_date >= start) & (df.sale_date < end)]
    revenue = october.groupby("customer_id").net.apply(lambda s: sum(s, Decimal(0)))
    segments = {}
    for seg in set(now.label) | set(before.label):
        members = [c for c in now.index[now.label == seg] if c in keep]
        if not members and not any(c in keep for c in before.index[before.label == seg]):
            continue
        segments[seg] = (len(members), sum(1 for c in before.index[before.label == seg] if c in keep),
                         float(sum((revenue.get(c, Decimal(0)) for c in members), Decimal(0))),
                         sum(now.clv[c] for c in members) / len(members) if members else None)
    movers: dict[tuple[str, str], int] = {}
    for c in (set(now.index) | set(before.index)) & keep:
        old = before.label.get(c, "(not active)")
        new = now.label.get(c, "(not active)")
        if old != new:
            movers[(old, new)] = movers.get((old, new), 0) + 1
    return {"segments": segments, "movers": movers, "revenue": float(sum(revenue[revenue.index.isin(keep)])),
            "customers": len([c for c in now.index if c in keep])}


@pytest.fixture
def customers(sales):
    with sales.get_client() as wh:
        insert_sales(wh, more_sales())
    return sales


DEFINITION = {"name": "segments_report", "report_type": "customer_segments", "description": "Customer segments",
              "recipients": ["crm@company.com"]}


def build(clickhouse, spec, smtp=None):
    assets = build_report_assets(spec, retries=None)
    return dg.materialize(assets, partition_key="2026-10-01",
                          resources={"clickhouse": clickhouse, **({"smtp": smtp} if smtp else {})})


@pytest.mark.parametrize("regions", [None, ["Europe"]])
def test_segments_revenue_clv_and_movers_equal_pandas_and_the_report_is_mailed_once(customers, smtp_server, regions):
    controller, inbox = smtp_server
    spec = parse_report({**DEFINITION, **({"filters": {"region": regions}} if regions else {})}, source="test")
    smtp = SmtpResource(host="127.0.0.1", port=controller.port, sender="reports@company.com")
    build(customers, spec, smtp)
    want = expected(frame(), regions)
    assert want["movers"] and len(want["segments"]) >= 4  # the data moves people between several segments

    book = openpyxl.load_workbook(report_path(spec, "2026-10"))
    kpis = {r[0]: r[1] for r in book["Summary"].iter_rows(min_row=6, values_only=True) if r[0]}
    assert kpis["customers"] == want["customers"]
    assert float(kpis["period_revenue"]) == pytest.approx(want["revenue"])
    assert kpis["movers"] == sum(want["movers"].values())
    got = {r[0]: r[1:] for r in book["Segments"].iter_rows(min_row=2, values_only=True)}
    assert set(got) == set(want["segments"])
    for seg, (size, before, revenue, clv) in want["segments"].items():
        customers_now, customers_before, change, period_revenue, avg_clv, _ = got[seg]
        assert (customers_now, customers_before, change) == (size, before, size - before), seg
        assert float(period_revenue) == pytest.approx(revenue), seg
        assert (avg_clv is None) == (clv is None) and (clv is None or float(avg_clv) == pytest.approx(clv, abs=0.011))
    movers = {(r[0], r[1]): r[2] for r in book["Movers"].iter_rows(min_row=2, values_only=True)}
    assert movers == want["movers"]
    assert len(book["Charts"]._charts) == 2

    (message,) = inbox.messages
    assert message["To"] == "crm@company.com" and message["Subject"] == "Customer segments: 2026-10"
    (attachment,) = [p for p in message.walk() if p.get_filename()]
    assert openpyxl.load_workbook(io.BytesIO(attachment.get_payload(decode=True)))["Segments"].max_row > 1
    build(customers, spec, smtp)  # a rerun mails nobody twice
    assert len(inbox.messages) == 1


def test_filters_that_make_no_sense_for_segments_are_refused():
    with pytest.raises(ReportSpecError) as caught:
        parse_report({**DEFINITION, "filters": {"category": ["Home"]}}, source="test")
    assert caught.value.problems == [("filters.category", "unknown filter for customer_segments "
                                                          "(known: region, customer_segment, country)")]
