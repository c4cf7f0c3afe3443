-- Every customer segmented at the end of the period ($current) or of the period before
-- ($previous) who passes the report's filters (an empty filter passes all), with the period's
-- completed net revenue, and the original Airflow examples' simple 3-year CLV at the period's end (the
-- snapshots' simple_clv_3y: customer_rfm.sql computes it, for customer_segments too).
SELECT
    ids.customer_id AS customer_id,
    a.customer_name AS customer_name,
    cur.rfm_segment AS segment,
    prev.rfm_segment AS previous_segment,
    cur.monetary_value AS monetary_value_365d,
    cur.customer_lifespan_days AS lifespan,
    cur.simple_clv_3y AS clv_3y,
    ifNull(s.revenue, 0) AS period_revenue
FROM (SELECT customer_id FROM $current UNION DISTINCT SELECT customer_id FROM $previous) AS ids
INNER JOIN (
    SELECT assumeNotNull(customer_id) AS customer_id, any(customer_name) AS customer_name
    FROM sales_fact
    WHERE customer_found
      AND (empty({region:Array(String)}) OR has({region:Array(String)}, region))
      AND (empty({customer_segment:Array(String)}) OR has({customer_segment:Array(String)}, customer_segment))
      AND (empty({country:Array(String)}) OR has({country:Array(String)}, country))
    GROUP BY customer_id
) AS a ON a.customer_id = ids.customer_id
LEFT JOIN $current AS cur ON cur.customer_id = ids.customer_id
LEFT JOIN $previous AS prev ON prev.customer_id = ids.customer_id
LEFT JOIN (
    SELECT assumeNotNull(customer_id) AS customer_id, sum(net_amount) AS revenue
    FROM sales_fact
    WHERE {{ sales/completed_sale }} AND customer_found AND sale_day BETWEEN {first_day:Date32} AND {last_day:Date32}
    GROUP BY customer_id
) AS s ON s.customer_id = ids.customer_id
