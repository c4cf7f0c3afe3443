-- Rows of sales_fact for the months in $months (a one-column table of YYYYMM), from the
-- replicas' current rows. LEFT JOINs: a sale with an unknown customer or product is kept and
-- flagged (customer_found / product_found), so each mart can apply the seed's inner join.
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
    p.updated_at AS product_updated_at
FROM
(
    SELECT * FROM raw_sales FINAL
    -- Filtering on the sorting key before FINAL is exact (all versions of a key stay together)
    -- and lets ClickHouse read only the granules of the candidate sales.
    WHERE sale_id IN (SELECT sale_id FROM $candidates)
) AS s
LEFT JOIN (SELECT * FROM raw_customers FINAL) AS c ON s.customer_id = c.customer_id
LEFT JOIN (SELECT * FROM raw_products FINAL) AS p ON s.product_id = p.product_id
WHERE toYYYYMM(ifNull(toDate32(s.sale_date), toDate32('1970-01-01'))) IN (SELECT month FROM $months)
SETTINGS join_use_nulls = 1
