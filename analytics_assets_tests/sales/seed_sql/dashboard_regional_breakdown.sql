-- The seed's build_regional_breakdown query.
SELECT
    c.region,
    c.country,
    c.state,
    COUNT(DISTINCT s.sale_id) as total_orders,
    SUM(s.total_amount - s.discount_amount) as revenue,
    COUNT(DISTINCT s.customer_id) as active_customers,
    ROUND(AVG(s.total_amount - s.discount_amount), 2) as avg_order_value
FROM sales s
JOIN customers c ON s.customer_id = c.customer_id
WHERE s.sale_date >= %(as_of_date)s::date - INTERVAL '30 days'
  AND s.sale_date < %(as_of)s
  AND s.status = 'COMPLETED'
GROUP BY c.region, c.country, c.state
ORDER BY revenue DESC
