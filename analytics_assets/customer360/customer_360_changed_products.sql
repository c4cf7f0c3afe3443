-- Every sale of a product whose category (or existence) changed since the last build: its new
-- category may move favourite_category. Run only when some did: it scans the fact's product_id.
INSERT INTO $changed
SELECT sale_id, sale_day FROM sales_fact
WHERE product_id IN (
    SELECT product_id FROM (SELECT * FROM $products_now EXCEPT SELECT * FROM customer_360_products)
    UNION ALL
    SELECT product_id FROM (SELECT * FROM customer_360_products EXCEPT SELECT * FROM $products_now));
