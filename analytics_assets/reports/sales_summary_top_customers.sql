-- The ten customers with the most net revenue in the period.
SELECT customer_id, any(customer_name) AS customer_name, any(customer_segment) AS customer_segment,
       any(region) AS region, sum(net_amount) AS net_revenue, count() AS orders
FROM $filtered
WHERE customer_id IS NOT NULL
GROUP BY customer_id
ORDER BY net_revenue DESC NULLS LAST, customer_id
LIMIT 10
