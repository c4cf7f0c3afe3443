-- The seed's top products query, with NULLS LAST and a tie-breaker (see top customers).
SELECT
    ROW_NUMBER() OVER (ORDER BY SUM(s.total_amount - s.discount_amount) DESC NULLS LAST, p.product_id) as rank,
    p.product_id,
    p.product_name,
    p.category,
    p.subcategory,
    COUNT(DISTINCT s.sale_id) as times_sold,
    SUM(s.quantity) as units_sold,
    SUM(s.total_amount - s.discount_amount) as revenue,
    COUNT(DISTINCT s.customer_id) as unique_customers
FROM sales s
JOIN products p ON s.product_id = p.product_id
WHERE s.sale_date >= %(as_of_date)s::date - INTERVAL '90 days'
  AND s.sale_date < %(as_of)s
  AND s.status = 'COMPLETED'
GROUP BY p.product_id, p.product_name, p.category, p.subcategory
ORDER BY revenue DESC NULLS LAST, p.product_id
LIMIT 100
