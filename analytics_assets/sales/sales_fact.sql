-- sales_fact rows for the sales in $sales (raw_sales itself for a full build, or a table of the
-- same engine holding the stored versions of the changed sales), from their current versions.
-- LEFT JOINs: a sale with an unknown customer or product is kept and flagged (customer_found /
-- product_found), so each mart can apply the original Airflow examples' inner join.
INSERT INTO $target
SELECT
    s.sale_id,
    ifNull(toDate32(s.sale_date), toDate32('1970-01-01')) AS sale_day,
    s.sale_date,
    s.customer_id,
    s.product_id,
    s.quantity,
    s.unit_price,
    s.total_amount,
    s.discount_amount,
    s.tax_amount,
    s.total_amount - s.discount_amount AS net_amount,
    s.status,
    c.customer_id IS NOT NULL AS customer_found,
    c.customer_name,
    c.customer_segment,
    c.region,
    c.country,
    c.state,
    p.product_id IS NOT NULL AS product_found,
    p.product_name,
    p.category,
    p.subcategory,
    s.updated_at,
    c.updated_at AS customer_updated_at,
    p.updated_at AS product_updated_at,
    -- What is wrong with the row itself, for the source_anomalies check (a few rows in millions:
    -- the check reads this column's sizes, not six columns of every sale).
    arrayFilter(a -> a != '', [
        if(s.quantity < 0, 'negative_quantity', ''),
        if(s.discount_amount > s.total_amount, 'discount_above_total', ''),
        if(s.sale_date IS NULL, 'null_sale_date', ''),
        if(s.status IS NULL, 'null_status', ''),
        if(s.total_amount IS NULL OR s.discount_amount IS NULL, 'null_amount', ''),
        -- the epoch or earlier: a default value or a typo (year 1), not a sale
        if(s.sale_date <= toDateTime64('1970-01-01 00:00:00', 6, 'UTC'), 'implausible_sale_date', '')
    ]) AS anomalies
FROM (SELECT * FROM $sales FINAL) AS s
-- Filtering on the sorting key before FINAL is exact (all versions of a key stay together) and
-- reads only the granules of the customers and products these sales refer to.
LEFT JOIN (
    SELECT * FROM raw_customers FINAL WHERE customer_id IN (SELECT customer_id FROM $sales)
) AS c ON s.customer_id = c.customer_id
LEFT JOIN (
    SELECT * FROM raw_products FINAL WHERE product_id IN (SELECT product_id FROM $sales)
) AS p ON s.product_id = p.product_id
SETTINGS join_use_nulls = 1
