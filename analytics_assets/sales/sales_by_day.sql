-- Per sale day, what the day-grained marts need: the original Airflow examples' daily metrics
-- (COMPLETED sales whose customer and product exist: their inner joins) and every COMPLETED sale
-- (the year-over-year comparison). Only the days in {days}, only sales before {as_of} (a mart's
-- logical time; sales_fact_daily binds a time after every sale). The
-- expressions are dashboard_daily_metrics' own, so a day read from here equals that day computed
-- from sales_fact. sales_fact_daily keeps these rows for every day (no cut-off); a mart adds the
-- logical day itself (cut at the logical time) to the complete days before it.
SELECT
    c.sale_day AS sale_day,
    m.total_orders AS total_orders,
    m.unique_customers AS unique_customers,
    m.total_units_sold AS total_units_sold,
    m.gross_revenue AS gross_revenue,
    m.total_discounts AS total_discounts,
    m.net_revenue AS net_revenue,
    m.avg_order_value AS avg_order_value,
    m.enterprise_revenue AS enterprise_revenue,
    m.smb_revenue AS smb_revenue,
    m.consumer_revenue AS consumer_revenue,
    m.other_segment_revenue AS other_segment_revenue,
    m.na_revenue AS na_revenue,
    m.emea_revenue AS emea_revenue,
    m.apac_revenue AS apac_revenue,
    m.other_region_revenue AS other_region_revenue,
    m.electronics_revenue AS electronics_revenue,
    m.apparel_revenue AS apparel_revenue,
    m.home_revenue AS home_revenue,
    m.other_category_revenue AS other_category_revenue,
    m.items_per_order AS items_per_order,
    m.discount_rate AS discount_rate,
    c.completed_orders AS completed_orders,
    c.completed_net_revenue AS completed_net_revenue
FROM
(
    SELECT sale_day, count() AS completed_orders, sum(net_amount) AS completed_net_revenue
    FROM sales_fact
    WHERE {{ sales/completed_sale_before_as_of }} AND sale_day IN {days:Array(Date32)}
    GROUP BY sale_day
) AS c
LEFT JOIN
(
    SELECT
        sale_day,
        count() AS total_orders,
        uniqExact(customer_id) AS unique_customers,
        sum(quantity) AS total_units_sold,
        sum(total_amount) AS gross_revenue,
        sum(discount_amount) AS total_discounts,
        sum(net_amount) AS net_revenue,
        round(toDecimal128(sum(net_amount), 10) / nullIf(count(net_amount), 0), 2) AS avg_order_value,
        sum(if(customer_segment = 'Enterprise', net_amount, 0)) AS enterprise_revenue,
        sum(if(customer_segment = 'SMB', net_amount, 0)) AS smb_revenue,
        sum(if(customer_segment = 'Consumer', net_amount, 0)) AS consumer_revenue,
        sum(if(ifNull(customer_segment, '') NOT IN ('Enterprise', 'SMB', 'Consumer'), net_amount, 0)) AS other_segment_revenue,
        sum(if(region = 'North America', net_amount, 0)) AS na_revenue,
        sum(if(region = 'Europe', net_amount, 0)) AS emea_revenue,
        sum(if(region = 'Asia Pacific', net_amount, 0)) AS apac_revenue,
        sum(if(ifNull(region, '') NOT IN ('North America', 'Europe', 'Asia Pacific'), net_amount, 0)) AS other_region_revenue,
        sum(if(category = 'Electronics', net_amount, 0)) AS electronics_revenue,
        sum(if(category = 'Apparel', net_amount, 0)) AS apparel_revenue,
        sum(if(category = 'Home & Garden', net_amount, 0)) AS home_revenue,
        sum(if(ifNull(category, '') NOT IN ('Electronics', 'Apparel', 'Home & Garden'), net_amount, 0)) AS other_category_revenue,
        total_units_sold / nullIf(total_orders, 0) AS items_per_order,
        toFloat64(total_discounts) / nullIf(toFloat64(gross_revenue), 0) AS discount_rate
    FROM sales_fact
    WHERE {{ sales/completed_sale_before_as_of }} AND customer_found AND product_found
      AND sale_day IN {days:Array(Date32)}
    GROUP BY sale_day
) AS m ON m.sale_day = c.sale_day
