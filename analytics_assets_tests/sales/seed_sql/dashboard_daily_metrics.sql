-- The seed's build_daily_metrics query on PostgreSQL. Adapted: CURRENT_DATE -> the logical date,
-- plus an upper bound at the logical time. Added (README fixes): ROUND(AVG, 2), the *_other
-- columns, and the seed's pandas-derived items_per_order / discount_rate in SQL.
WITH daily_sales AS (
    SELECT
        DATE(s.sale_date) as date,
        s.customer_id,
        c.customer_segment,
        c.region,
        c.country,
        s.product_id,
        p.product_name,
        p.category,
        p.subcategory,
        s.quantity,
        s.unit_price,
        s.total_amount,
        s.discount_amount,
        s.tax_amount,
        (s.total_amount - s.discount_amount) as net_amount
    FROM sales s
    JOIN customers c ON s.customer_id = c.customer_id
    JOIN products p ON s.product_id = p.product_id
    WHERE s.sale_date >= %(as_of_date)s::date - INTERVAL '7 days'
      AND s.sale_date < %(as_of)s
      AND s.status = 'COMPLETED'
)
SELECT
    date,
    COUNT(*) as total_orders,
    COUNT(DISTINCT customer_id) as unique_customers,
    SUM(quantity) as total_units_sold,
    SUM(total_amount) as gross_revenue,
    SUM(discount_amount) as total_discounts,
    SUM(net_amount) as net_revenue,
    ROUND(AVG(net_amount), 2) as avg_order_value,
    SUM(CASE WHEN customer_segment = 'Enterprise' THEN net_amount ELSE 0 END) as enterprise_revenue,
    SUM(CASE WHEN customer_segment = 'SMB' THEN net_amount ELSE 0 END) as smb_revenue,
    SUM(CASE WHEN customer_segment = 'Consumer' THEN net_amount ELSE 0 END) as consumer_revenue,
    SUM(CASE WHEN customer_segment IN ('Enterprise', 'SMB', 'Consumer') THEN 0 ELSE net_amount END) as other_segment_revenue,
    SUM(CASE WHEN region = 'North America' THEN net_amount ELSE 0 END) as na_revenue,
    SUM(CASE WHEN region = 'Europe' THEN net_amount ELSE 0 END) as emea_revenue,
    SUM(CASE WHEN region = 'Asia Pacific' THEN net_amount ELSE 0 END) as apac_revenue,
    SUM(CASE WHEN region IN ('North America', 'Europe', 'Asia Pacific') THEN 0 ELSE net_amount END) as other_region_revenue,
    SUM(CASE WHEN category = 'Electronics' THEN net_amount ELSE 0 END) as electronics_revenue,
    SUM(CASE WHEN category = 'Apparel' THEN net_amount ELSE 0 END) as apparel_revenue,
    SUM(CASE WHEN category = 'Home & Garden' THEN net_amount ELSE 0 END) as home_revenue,
    SUM(CASE WHEN category IN ('Electronics', 'Apparel', 'Home & Garden') THEN 0 ELSE net_amount END) as other_category_revenue,
    SUM(quantity)::float8 / COUNT(*) as items_per_order,
    SUM(discount_amount)::float8 / NULLIF(SUM(total_amount), 0)::float8 as discount_rate
FROM daily_sales
GROUP BY date
ORDER BY date DESC
