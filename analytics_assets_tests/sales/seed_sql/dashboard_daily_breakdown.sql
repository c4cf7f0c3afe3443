-- Reference for the long-format breakdown (not in the seed): the daily metrics' rows, one per
-- day, dimension and value.
SELECT
    DATE(s.sale_date) as date,
    d.dimension,
    d.value,
    CASE WHEN d.value = ANY (d.seed_values) THEN 1 ELSE 0 END as in_seed_columns,
    COUNT(*) as orders,
    SUM(s.total_amount - s.discount_amount) as net_revenue
FROM sales s
JOIN customers c ON s.customer_id = c.customer_id
JOIN products p ON s.product_id = p.product_id
CROSS JOIN LATERAL (VALUES
    ('segment', c.customer_segment, ARRAY['Enterprise', 'SMB', 'Consumer']),
    ('region', c.region, ARRAY['North America', 'Europe', 'Asia Pacific']),
    ('category', p.category, ARRAY['Electronics', 'Apparel', 'Home & Garden'])
) AS d(dimension, value, seed_values)
WHERE s.sale_date >= %(as_of_date)s::date - INTERVAL '7 days'
  AND s.sale_date < %(as_of)s
  AND s.status = 'COMPLETED'
GROUP BY 1, 2, 3, 4
