-- One row per known customer (live replica rows): profile, lifetime and windowed sales (completed
-- sales before the logical time), favourite category, and the latest segmentation (RFM scores and
-- segment, behaviour segment, CLV model) for customers active in its window (NULL otherwise),
-- and product engagement from the events tied to the customer (`product_events.customer_id`:
-- signed-in events; web metrics carry no customer id).
-- The rows of the customers in $customers (raw_customers itself for a full build, the touched
-- ones for an hourly delta), from $sales (completed sales: sales_fact's for a full build, the
-- touched customers' from customer_360_sales for a delta) and $engagement
-- (customer_360_engagement.sql).
CREATE TABLE $target ENGINE = MergeTree ORDER BY customer_id AS
WITH
    sales AS (
        SELECT customer_id, sale_day, net_amount, quantity, category
        FROM $sales
        WHERE customer_found AND sale_date < {as_of:DateTime64(6, 'UTC')}
    ),
    lifetime AS (
        SELECT
            customer_id,
            count() AS orders,
            sum(net_amount) AS net_revenue,
            sum(quantity) AS units,
            min(sale_day) AS first_purchase,
            max(sale_day) AS last_purchase,
            countIf(sale_day >= {as_of_date:Date32} - 30) AS orders_30d,
            sumIf(net_amount, sale_day >= {as_of_date:Date32} - 30) AS revenue_30d,
            countIf(sale_day >= {as_of_date:Date32} - 365) AS orders_365d,
            sumIf(net_amount, sale_day >= {as_of_date:Date32} - 365) AS revenue_365d
        FROM sales
        GROUP BY customer_id
    ),
    favourite AS (
        -- the category with the most net revenue; a tie goes to the alphabetically first
        SELECT customer_id, argMin(category, (-revenue, category)) AS favourite_category
        FROM (SELECT customer_id, category, sum(net_amount) AS revenue FROM sales
              WHERE category IS NOT NULL GROUP BY customer_id, category)
        GROUP BY customer_id
    )
SELECT
    c.customer_id AS customer_id,
    c.customer_name AS customer_name,
    c.email AS email,
    c.signup_date AS signup_date,
    c.customer_segment AS customer_segment,
    c.region AS region,
    c.country AS country,
    c.state AS state,
    ifNull(l.orders, 0) AS lifetime_orders,
    ifNull(l.net_revenue, toDecimal64(0, 2)) AS lifetime_net_revenue,
    ifNull(l.units, 0) AS lifetime_units,
    l.first_purchase AS first_purchase_date,
    l.last_purchase AS last_purchase_date,
    -- also set for every row by customer_360_as_of.sql: the same expression
    if(l.last_purchase IS NULL, NULL, dateDiff('day', l.last_purchase, {as_of_date:Date32})) AS days_since_last_purchase,
    ifNull(l.orders_30d, 0) AS orders_30d,
    ifNull(l.revenue_30d, toDecimal64(0, 2)) AS net_revenue_30d,
    ifNull(l.orders_365d, 0) AS orders_365d,
    ifNull(l.revenue_365d, toDecimal64(0, 2)) AS net_revenue_365d,
    f.favourite_category AS favourite_category,
    s.r_score AS r_score,
    s.f_score AS f_score,
    s.m_score AS m_score,
    s.rfm_segment AS rfm_segment,
    s.behavior_segment AS behavior_segment,
    s.clv_segment AS clv_segment,
    s.probability_alive AS probability_alive,
    s.expected_purchases_3y AS expected_purchases_3y,
    s.model_clv_3y AS model_clv_3y,
    ifNull(e.events_30d, 0) AS product_events_30d,
    ifNull(e.sessions_30d, 0) AS product_sessions_30d,
    e.last_event_time AS last_product_event_time,
    {as_of:DateTime64(6, 'UTC')} AS as_of
FROM (SELECT * FROM raw_customers FINAL
      WHERE NOT _is_deleted AND customer_id IN (SELECT customer_id FROM $customers)) AS c
LEFT JOIN lifetime AS l ON l.customer_id = c.customer_id
LEFT JOIN favourite AS f ON f.customer_id = c.customer_id
LEFT JOIN $customer_segments AS s ON s.customer_id = c.customer_id
LEFT JOIN $engagement AS e ON e.customer_id = c.customer_id
SETTINGS join_use_nulls = 1
