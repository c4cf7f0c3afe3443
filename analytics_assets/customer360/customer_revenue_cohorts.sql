-- The revenue view of the same cohorts: revenue per cohort customer by month since the first
-- purchase, cumulative (a lifetime-value curve), and as a share of the first month's revenue.
CREATE TABLE $target ENGINE = MergeTree ORDER BY (cohort_month, months_since_first) AS
SELECT
    cohort_month,
    months_since_first,
    cohort_size,
    revenue,
    toDecimal64(round(revenue / cohort_size, 2), 2) AS revenue_per_customer,
    toDecimal64(round(sum(revenue) OVER (PARTITION BY cohort_month ORDER BY months_since_first) / cohort_size, 2), 2)
        AS cumulative_revenue_per_customer,
    if(first_month_revenue = 0, NULL,
       round(toFloat64(revenue) * 100 / toFloat64(first_month_revenue), 2)) AS revenue_retention_pct
FROM (
    SELECT *, first_value(revenue) OVER (PARTITION BY cohort_month ORDER BY months_since_first) AS first_month_revenue
    FROM customer_cohort_retention
)
