-- The seed's build_category_performance query; revenue_share (pandas in the seed) in exact SQL.
SELECT
    p.category,
    p.subcategory,
    COUNT(DISTINCT s.sale_id) as total_orders,
    SUM(s.quantity) as units_sold,
    SUM(s.total_amount - s.discount_amount) as revenue,
    ROUND(AVG(s.total_amount - s.discount_amount), 2) as avg_sale_value,
    COUNT(DISTINCT s.customer_id) as unique_customers,
    COUNT(DISTINCT s.product_id) as products_sold,
    ROUND(SUM(s.total_amount - s.discount_amount) * 100
          / NULLIF(SUM(SUM(s.total_amount - s.discount_amount)) OVER (), 0), 2) as revenue_share
FROM sales s
JOIN products p ON s.product_id = p.product_id
WHERE s.sale_date >= %(as_of_date)s::date - INTERVAL '30 days'
  AND s.sale_date < %(as_of)s
  AND s.status = 'COMPLETED'
GROUP BY p.category, p.subcategory
ORDER BY revenue DESC
