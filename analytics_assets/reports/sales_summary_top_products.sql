-- The ten products with the most net revenue in the period.
SELECT product_id, any(product_name) AS product_name, any(category) AS category,
       sum(quantity) AS units, sum(net_amount) AS net_revenue
FROM $filtered
WHERE product_id IS NOT NULL
GROUP BY product_id
ORDER BY net_revenue DESC NULLS LAST, product_id
LIMIT 10
