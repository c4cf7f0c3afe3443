-- The seed's build_yoy_comparison query. FIXES (README): a row for every day of the year to date,
-- the previous year re-aggregated after the shift (Feb 29), orders growth in numeric, not bigint.
WITH bounds AS (
    SELECT DATE_TRUNC('year', %(as_of_date)s::date)::date AS year_start,
           (%(as_of)s::timestamptz - INTERVAL '1 microsecond')::date AS last_day
),
current_year AS (
    SELECT
        DATE(sale_date) as date,
        SUM(total_amount - discount_amount) as revenue,
        COUNT(*) as orders
    FROM sales, bounds
    WHERE sale_date >= year_start
      AND sale_date < %(as_of)s
      AND status = 'COMPLETED'
    GROUP BY DATE(sale_date)
),
previous_year AS (
    SELECT
        (DATE(sale_date) + INTERVAL '1 year')::date as date,
        SUM(total_amount - discount_amount) as revenue,
        COUNT(*) as orders
    FROM sales, bounds
    WHERE sale_date >= year_start - INTERVAL '1 year'
      AND sale_date < year_start
      AND status = 'COMPLETED'
    GROUP BY 1
),
spine AS (
    SELECT d::date AS date FROM bounds, generate_series(year_start, last_day, INTERVAL '1 day') d
)
SELECT
    spine.date,
    COALESCE(cy.revenue, 0) as current_revenue,
    COALESCE(cy.orders, 0) as current_orders,
    COALESCE(py.revenue, 0) as previous_revenue,
    COALESCE(py.orders, 0) as previous_orders,
    ROUND(((COALESCE(cy.revenue, 0) - COALESCE(py.revenue, 0)) / NULLIF(py.revenue, 0) * 100)::numeric, 2) as revenue_growth_pct,
    ROUND(((COALESCE(cy.orders, 0) - COALESCE(py.orders, 0))::numeric / NULLIF(py.orders, 0) * 100)::numeric, 2) as orders_growth_pct
FROM spine
LEFT JOIN current_year cy ON cy.date = spine.date
LEFT JOIN previous_year py ON py.date = spine.date
ORDER BY spine.date
