-- Monthly cohorts by first completed purchase (before the logical time): per cohort and month
-- since the first purchase, how many of the cohort bought, the retention rate, and the revenue.
CREATE TABLE $target ENGINE = MergeTree ORDER BY (cohort_month, months_since_first) AS
WITH
    monthly AS (
        SELECT customer_id, toStartOfMonth(sale_day) AS month, sum(net_amount) AS revenue
        FROM sales_fact
        WHERE {{ sales/completed_sale_before_as_of }} AND customer_id IS NOT NULL
        GROUP BY customer_id, month
    ),
    cohorts AS (SELECT customer_id, min(month) AS cohort_month FROM monthly GROUP BY customer_id),
    sizes AS (SELECT cohort_month, count() AS cohort_size FROM cohorts GROUP BY cohort_month)
SELECT
    cohort_month,
    toUInt16(dateDiff('month', cohort_month, month)) AS months_since_first,
    any(sizes.cohort_size) AS cohort_size,
    uniqExact(monthly.customer_id) AS active_customers,
    active_customers / cohort_size AS retention_rate,
    sum(monthly.revenue) AS revenue
FROM monthly
INNER JOIN cohorts ON cohorts.customer_id = monthly.customer_id
INNER JOIN sizes ON sizes.cohort_month = cohorts.cohort_month
GROUP BY cohort_month, months_since_first
