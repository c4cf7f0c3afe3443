-- Every sale of a product that arrived since the marks (a new category moves favourite_category).
-- Run only when some did: it scans the fact's product_id.
INSERT INTO $changed
SELECT sale_id, sale_day FROM sales_fact
WHERE product_id IN (SELECT product_id FROM raw_products WHERE _synced_at > {products_since:DateTime64(6, 'UTC')});
