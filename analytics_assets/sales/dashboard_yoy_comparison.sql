-- The original Airflow examples' year-over-year comparison (all COMPLETED sales, no joins), fixed: every day from
-- 1 January to the logical date (a day without sales is a 0, not a gap); the previous year is
-- re-aggregated after shifting by a year (the original Airflow examples' Feb 29 + 1 year = Feb 28 gave a duplicate
-- row); growth is NULL without a previous value; orders growth is not integer division. Read from
-- the run's per-day pre-aggregate (sales_by_day.sql), not from sales_fact.
CREATE TABLE $target
(
    date                Date32 COMMENT 'Day of this year (1 January to the logical date)',
    current_revenue     Decimal(18, 2) COMMENT 'Net revenue that day (0 without sales)',
    current_orders      UInt64 COMMENT 'Completed sales that day',
    previous_revenue    Decimal(18, 2) COMMENT 'Net revenue the same day a year earlier',
    previous_orders     UInt64 COMMENT 'Completed sales the same day a year earlier',
    revenue_growth_pct  Nullable(Decimal(18, 2)) COMMENT 'Revenue growth in percent (NULL: no previous revenue)',
    orders_growth_pct   Nullable(Decimal(18, 2)) COMMENT 'Orders growth in percent (NULL: no previous orders)',
    as_of               DateTime64(6, 'UTC') COMMENT 'Logical time the mart was built for',
    updated_at          DateTime64(6, 'UTC') COMMENT 'When this version was built (the logical time)'
)
ENGINE = MergeTree
ORDER BY date
AS
WITH
    {window_start:Date32} AS year_start,  -- 1 January of the logical date's year (marts.py: year_start)
    toDate32({as_of:DateTime64(6, 'UTC')} - toIntervalMicrosecond(1)) AS last_day
SELECT
    spine.date AS date,
    ifNull(cy.revenue, 0) AS current_revenue,
    ifNull(cy.orders, 0) AS current_orders,
    ifNull(py.revenue, 0) AS previous_revenue,
    ifNull(py.orders, 0) AS previous_orders,
    round(toDecimal128(current_revenue - previous_revenue, 10) * 100 / nullIf(previous_revenue, 0), 2) AS revenue_growth_pct,
    round((toDecimal128(current_orders, 10) - toDecimal128(previous_orders, 10)) * 100 / nullIf(previous_orders, 0), 2) AS orders_growth_pct,
    {as_of:DateTime64(6, 'UTC')} AS as_of,
    {as_of:DateTime64(6, 'UTC')} AS updated_at
FROM
(
    SELECT year_start + number AS date
    FROM numbers(toUInt64(greatest(0, dateDiff('day', year_start, last_day) + 1)))
) AS spine
LEFT JOIN
(
    SELECT sale_day AS date, completed_net_revenue AS revenue, completed_orders AS orders
    FROM $sales_by_day
    WHERE sale_day >= year_start
) AS cy ON cy.date = spine.date
LEFT JOIN
(
    SELECT addYears(sale_day, 1) AS date, sum(completed_net_revenue) AS revenue, sum(completed_orders) AS orders
    FROM $sales_by_day
    WHERE sale_day >= addYears(year_start, -1) AND sale_day < year_start
    GROUP BY date
) AS py ON py.date = spine.date
ORDER BY date
SETTINGS join_use_nulls = 1
