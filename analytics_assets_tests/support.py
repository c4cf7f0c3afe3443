"""What several test packages share: a handful of known sales, a free local port, an inbox for a
real SMTP server."""

from __future__ import annotations

import email
import socket
from datetime import date, datetime, timezone
from decimal import Decimal

SALES = [  # sale_id, day, customer, segment, region, category, quantity, net, status
    (1, "2026-10-03", 1, "Enterprise", "North America", "Electronics", 2, "100.00", "COMPLETED"),
    (2, "2026-10-03", 2, "SMB", "Europe", "Apparel", 1, "50.50", "COMPLETED"),
    (3, "2026-10-20", 1, "Enterprise", "North America", "Electronics", 1, "25.25", "COMPLETED"),
    (4, "2026-10-21", 3, "Consumer", "Europe", "Home", 5, "999.00", "COMPLETED"),  # filtered out: segment
    (5, "2026-10-22", 4, "SMB", "Asia Pacific", "Home", 1, "77.00", "COMPLETED"),  # filtered out: region
    (6, "2026-10-23", 2, "SMB", "Europe", "Apparel", 1, "10.00", "CANCELLED"),  # not completed
    (7, "2026-09-15", 1, "Enterprise", "North America", "Electronics", 1, "40.00", "COMPLETED"),  # September
    (8, "2026-11-01", 1, "Enterprise", "North America", "Electronics", 1, "60.00", "COMPLETED"),  # November
]


def load_known_sales(wh) -> None:
    """`sales_fact` (its real DDL) holding SALES, each product id following its category."""
    from analytics_assets.sales import fact
    from analytics_assets.warehouse.sql import run_script, sql_file

    run_script(wh, sql_file(fact.__file__, "sales_fact_table"), target="sales_fact")
    wh.insert_rows("sales_fact", [
        (sid, date.fromisoformat(day), datetime.fromisoformat(f"{day}T12:00:00+00:00"), cid, seg, region, cat, qty,
         Decimal(net), status, 1, 1, datetime(2026, 11, 1, tzinfo=timezone.utc), f"Customer {cid}",
         f"Product {cat}", ("Electronics", "Apparel", "Home").index(cat) + 1)
        for sid, day, cid, seg, region, cat, qty, net, status in SALES],
        ["sale_id", "sale_day", "sale_date", "customer_id", "customer_segment", "region", "category", "quantity",
         "net_amount", "status", "customer_found", "product_found", "updated_at", "customer_name",
         "product_name", "product_id"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"
