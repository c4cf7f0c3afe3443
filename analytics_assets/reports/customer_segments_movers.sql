-- Customers whose segment changed since the end of the period before, by old and new segment
-- ('(not active)': no completed sale in the 365 days before that date).
SELECT
    ifNull(previous_segment, '(not active)') AS from_segment,
    ifNull(segment, '(not active)') AS to_segment,
    count() AS customers,
    sum(period_revenue) AS period_revenue
FROM $customers
WHERE ifNull(segment, '') != ifNull(previous_segment, '')
GROUP BY from_segment, to_segment
ORDER BY customers DESC, from_segment, to_segment
SETTINGS join_use_nulls = 1
