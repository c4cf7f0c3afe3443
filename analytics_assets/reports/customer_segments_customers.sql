-- Every customer segmented at the end of the period ($current) or of the period before
-- ($previous) who passes the report's filters (an empty filter passes all), with the period's
-- completed net revenue, and the seed's simple 3-year CLV at the period's end (as
-- customer_segments computes it: average order value x purchases per year x 3).
SELECT
    ids.customer_id AS customer_id,
    a.customer_name AS customer_name,
    cur.rfm_segment AS segment,
    prev.rfm_segment AS previous_segment,
    cur.monetary_value AS monetary_value_365d,
    toUInt32(intDiv(dateDiff('second', cur.first_purchase_at, cur.last_purchase_at), 86400)) AS lifespan,
    round(toDecimal128(cur.avg_order_value, 10)
          * toDecimal128(if(lifespan > 0, cur.frequency / lifespan * 365, toFloat64(cur.frequency)), 10) * 3, 2) AS clv_3y,
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
    WHERE status = 'COMPLETED' AND customer_found AND sale_day BETWEEN {first_day:Date32} AND {last_day:Date32}
    GROUP BY customer_id
) AS s ON s.customer_id = ids.customer_id
