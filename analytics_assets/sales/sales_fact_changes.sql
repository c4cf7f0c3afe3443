-- The months sales_fact must rebuild, and the sales that may land in them: every sale whose
-- version is newer than what the fact holds (new, changed, deleted: tombstones carry the time the
-- delete was found), every sale of a customer or product that changed, and every sale already in
-- those months (a sale may have moved out of one).
INSERT INTO $months
SELECT DISTINCT month FROM
(
    SELECT toYYYYMM(ifNull(toDate32(sale_date), toDate32('1970-01-01'))) AS month
    FROM raw_sales WHERE updated_at > {sales_since:DateTime64(6, 'UTC')}
    UNION ALL
    SELECT toYYYYMM(sale_day) FROM sales_fact
    WHERE sale_id IN (SELECT sale_id FROM raw_sales WHERE updated_at > {sales_since:DateTime64(6, 'UTC')})
       OR customer_id IN (SELECT customer_id FROM raw_customers WHERE updated_at > {customers_since:DateTime64(6, 'UTC')})
       OR product_id IN (SELECT product_id FROM raw_products WHERE updated_at > {products_since:DateTime64(6, 'UTC')})
    UNION ALL
    SELECT toYYYYMM(ifNull(toDate32(s.sale_date), toDate32('1970-01-01'))) FROM raw_sales AS s
    WHERE s.customer_id IN (SELECT customer_id FROM raw_customers WHERE updated_at > {customers_since:DateTime64(6, 'UTC')})
       OR s.product_id IN (SELECT product_id FROM raw_products WHERE updated_at > {products_since:DateTime64(6, 'UTC')})
);

INSERT INTO $candidates
SELECT sale_id FROM sales_fact WHERE toYYYYMM(sale_day) IN (SELECT month FROM $months)
UNION DISTINCT
SELECT sale_id FROM raw_sales WHERE updated_at > {sales_since:DateTime64(6, 'UTC')}
UNION DISTINCT
SELECT sale_id FROM raw_sales
WHERE customer_id IN (SELECT customer_id FROM raw_customers WHERE updated_at > {customers_since:DateTime64(6, 'UTC')})
   OR product_id IN (SELECT product_id FROM raw_products WHERE updated_at > {products_since:DateTime64(6, 'UTC')});
