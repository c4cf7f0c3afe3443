"""The dashboard datamarts: each one `.sql` file (named after its table) and its gates.

A gate is a query over the freshly built staging table that returns one row
`(failures, detail)`; any failure stops the swap, so the previous mart stays in place.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from analytics_assets.sales.fact import DAILY, TABLE as SALES_FACT
from analytics_assets.sales.fact import ensure_daily, insert_days
from analytics_assets.identifiers import quote_identifier
from analytics_assets.warehouse.sql import sql_fragment
from analytics_assets.warehouse.sql_table_asset import Gate, SqlTable, unique_key
from analytics_assets.warehouse.tables import scratch_tables

SALES_GROUP = "sales"
# Refreshed hourly: stale once two refreshes are missed.
HOURLY_STALE_AFTER = timedelta(hours=2)
HERE = Path(__file__).parent


def year_start(as_of_date: date) -> date:
    return as_of_date.replace(month=1, day=1)


def Mart(name: str, description: str, window: int | None, gates, *,  # noqa: N802 - reads as a table spec
         window_start: Callable[[date], date] | None = None) -> SqlTable:
    """A dashboard mart over sales_fact; `window`: the days before the logical date it reads (or
    `window_start`: a window that is not a number of days)."""
    return SqlTable(name=name, description=description, sql_dir=HERE, group=SALES_GROUP, deps=(SALES_FACT,),
                    gates=tuple(gates), window_days=window, window_start=window_start,
                    stale_after=HOURLY_STALE_AFTER)


# The sales a mart counts, as of the logical time (sales/completed_sale_before_as_of.fragment.sql).
COUNTED = sql_fragment("sales/completed_sale_before_as_of")
# A windowed mart's days: from the first day its window_days give (bound by the build) on.
IN_WINDOW = "sale_day >= {window_start:Date32}"


def matches_sales_fact(mart_sum: str, fact_sum: str, fact_filter: str, window: str = IN_WINDOW,
                       mart_window: str = "1") -> Gate:
    return Gate(
        "matches_sales_fact",
        "The mart's total over its window equals sales_fact's over the same window.",
        f"""
        SELECT (SELECT ifNull({mart_sum}, 0) FROM $target WHERE {mart_window}) != ifNull({fact_sum}, 0),
               concat('mart ', toString((SELECT ifNull({mart_sum}, 0) FROM $target WHERE {mart_window})),
                      ', sales_fact ', toString(ifNull({fact_sum}, 0)))
        FROM sales_fact
        WHERE {COUNTED} AND {fact_filter} AND {window}
        """,
    )


def matches_sales_by_day(mart_sum: str, day_sum: str, day_filter: str, what: str) -> Gate:
    """The mart against the run's per-day pre-aggregate (sales_fact_daily plus the logical day):
    the same guarantee as a re-scan of sales_fact over those days, at the cost of a few hundred rows."""
    return Gate(
        "matches_sales_by_day",
        f"The mart's total equals the per-day pre-aggregate's over {what}.",
        f"""
        SELECT (SELECT ifNull({mart_sum}, 0) FROM $target) != ifNull({day_sum}, 0),
               concat('mart ', toString((SELECT ifNull({mart_sum}, 0) FROM $target)),
                      ', per-day ', toString(ifNull({day_sum}, 0)))
        FROM $sales_by_day
        WHERE {day_filter}
        """,
    )


def days(n: int, column: str = "sale_day") -> str:
    return f"{column} >= {{as_of_date:Date32}} - {n}"


def top_n_sorted(value: str) -> Gate:
    return Gate(
        "at_most_100_sorted",
        f"At most 100 rows, ranked 1..n by {value} descending (NULL last).",
        f"""
        SELECT (count() > 100) + (arraySort(groupArray(rank)) != range(1, toUInt32(count()) + 1))
             + (arrayMap(t -> t.2, arraySort(groupArray((rank, v)))) != arrayReverseSort(groupArray(v))),
               concat(toString(count()), ' rows')
        -- groupArray follows no particular order: sort by rank explicitly.
        FROM (SELECT rank, ifNull(toFloat64({value}), -inf) AS v FROM $target)
        """,
    )


def splits_sum_to_net(dimension: str, columns: list[str]) -> Gate:
    total = " + ".join(f"ifNull({c}, 0)" for c in columns)
    return Gate(
        f"{dimension}_splits_sum_to_net_revenue",
        f"Per day, the {dimension} columns plus 'other' add up to net_revenue.",
        f"""
        SELECT countIf(({total}) != ifNull(net_revenue, 0)),
               toString(groupArrayIf(5)(date, ({total}) != ifNull(net_revenue, 0)))
        FROM $target
        """,
    )


LAST_7_DAYS = "dashboard_daily_metrics_last_7_days"
ORIGINAL_DAYS = 7  # the original's window of dashboard_daily_metrics: the view LAST_7_DAYS


@contextmanager
def sales_by_day(wh, params):
    """The run's per-day pre-aggregate, `$sales_by_day`: sales_fact_daily's complete days before the
    logical day, plus the logical day itself cut at the logical time (one day of sales_fact). On the
    way out, the original's 7-day window of dashboard_daily_metrics is kept as a view."""
    ensure_daily(wh)  # a deployment from before sales_fact_daily existed: built once, here
    with scratch_tables(wh, "sales_by_day") as (scratch,):
        wh.command(f"CREATE TABLE {quote_identifier(scratch)} ENGINE = Memory AS"
                   f" SELECT * EXCEPT (_version, _is_deleted) FROM {DAILY} FINAL"
                   " WHERE sale_day < {as_of_date:Date32}", params)
        insert_days(wh, scratch, [params["as_of_date"]], before=params["as_of"], versioned=False)
        yield {"sales_by_day": scratch}
    if wh.table_exists("dashboard_daily_metrics") and not wh.table_exists(LAST_7_DAYS):
        wh.command(f"CREATE VIEW IF NOT EXISTS {LAST_7_DAYS} AS SELECT * FROM dashboard_daily_metrics"
                   f" WHERE date >= toDate32(as_of) - {ORIGINAL_DAYS}")


MARTS: tuple[SqlTable, ...] = (
    Mart(
        "dashboard_daily_metrics",
        "Daily revenue, orders, AOV and the original Airflow examples' segment/region/category splits (+ other), "
        f"every day since the first sale (the original's last 7 days: the view {LAST_7_DAYS}).",
        None,
        (
            unique_key("date"),
            # the original's window, against the fact itself
            matches_sales_fact("sum(net_revenue)", "sum(net_amount)", "customer_found AND product_found",
                               days(ORIGINAL_DAYS), days(ORIGINAL_DAYS, "date")),
            matches_sales_by_day("sum(net_revenue)", "sum(net_revenue)", "total_orders > 0", "every day"),
            splits_sum_to_net("segment", ["enterprise_revenue", "smb_revenue", "consumer_revenue",
                                          "other_segment_revenue"]),
            splits_sum_to_net("region", ["na_revenue", "emea_revenue", "apac_revenue", "other_region_revenue"]),
            splits_sum_to_net("category", ["electronics_revenue", "apparel_revenue", "home_revenue",
                                           "other_category_revenue"]),
        ),
    ),
    Mart(
        "dashboard_daily_breakdown",
        "Long format of the daily splits: every segment, region and category value (NULL included).",
        7,
        (
            unique_key("date", "dimension", "value"),
            # Each sale counts once per dimension (segment, region, category).
            matches_sales_fact("sum(net_revenue)", "3 * sum(net_amount)", "customer_found AND product_found"),
        ),
    ),
    Mart(
        "dashboard_category_performance",
        "Orders, units, revenue and share by category and subcategory, last 30 days.",
        30,
        (
            unique_key("category", "subcategory"),
            matches_sales_fact("sum(revenue)", "sum(net_amount)", "product_found"),
        ),
    ),
    Mart(
        "dashboard_regional_breakdown",
        "Orders, revenue and active customers by region, country and state, last 30 days.",
        30,
        (
            unique_key("region", "country", "state"),
            matches_sales_fact("sum(revenue)", "sum(net_amount)", "customer_found"),
        ),
    ),
    Mart(
        "dashboard_yoy_comparison",
        "Revenue and orders per day this year against the same day last year.",
        None,
        (
            unique_key("date"),
            matches_sales_by_day("sum(current_revenue)", "sum(completed_net_revenue)", IN_WINDOW, "the year to date"),
            Gate(
                "dates_contiguous",
                "One row for every day from 1 January to the logical date.",
                """
                SELECT count() > 0 AND ((count() != dateDiff('day', min(date), max(date)) + 1)
                                        OR min(date) != {window_start:Date32}),
                       concat(toString(min(date)), ' .. ', toString(max(date)), ', ', toString(count()), ' rows')
                FROM $target
                """,
            ),
        ),
        window_start=year_start,
    ),
    Mart(
        "dashboard_top_customers",
        "The 100 customers with the highest net revenue over the last 90 days.",
        90,
        (unique_key("customer_id"), top_n_sorted("lifetime_value")),
    ),
    Mart(
        "dashboard_top_products",
        "The 100 products with the highest net revenue over the last 90 days.",
        90,
        (unique_key("product_id"), top_n_sorted("revenue")),
    ),
)
