-- The seed's top customers query. FIX (README): NULLS LAST and a tie-breaker (PostgreSQL sorts
-- NULL first in DESC order, and ties at the 100th place made the list nondeterministic).
SELECT
    ROW_NUMBER() OVER (ORDER BY SUM(s.total_amount - s.discount_amount) DESC NULLS LAST, c.customer_id) as rank,
    c.customer_id,
    c.customer_name,
    c.customer_segment,
    c.region,
    COUNT(DISTINCT s.sale_id) as total_orders,
    SUM(s.total_amount - s.discount_amount) as lifetime_value,
    ROUND(AVG(s.total_amount - s.discount_amount), 2) as avg_order_value,
    DATE(MAX(s.sale_date)) as last_purchase_date,
    MAX(s.sale_date) as last_purchase_at
FROM sales s
JOIN customers c ON s.customer_id = c.customer_id
WHERE s.sale_date >= %(as_of_date)s::date - INTERVAL '90 days'
  AND s.sale_date < %(as_of)s
  AND s.status = 'COMPLETED'
GROUP BY c.customer_id, c.customer_name, c.customer_segment, c.region
ORDER BY lifetime_value DESC NULLS LAST, c.customer_id
LIMIT 100
