-- raw_products as customer_360's last build saw them (category, deletion): a delta scans the
-- fact for a product's sales only when these changed (a replica re-reads rows that did not).
CREATE TABLE $target ENGINE = MergeTree ORDER BY product_id AS
SELECT product_id, ifNull(category, '') AS category, isNull(category) AS no_category, _is_deleted
FROM raw_products FINAL
