-- The twenty movers with the most revenue in the period.
SELECT
    customer_id,
    customer_name,
    ifNull(previous_segment, '(not active)') AS from_segment,
    ifNull(segment, '(not active)') AS to_segment,
    period_revenue,
    clv_3y
FROM $customers
WHERE ifNull(segment, '') != ifNull(previous_segment, '')
ORDER BY period_revenue DESC, customer_id
LIMIT 20
SETTINGS join_use_nulls = 1
