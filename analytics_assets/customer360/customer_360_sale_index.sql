-- Where each sale of customer_360_sales is (its customer and day), by sale: a changed sale's
-- previous customer and day, found by the primary key (the copy is sorted by customer).
CREATE TABLE $target ENGINE = ReplacingMergeTree(version, deleted) ORDER BY sale_id AS
SELECT sale_id, customer_id, sale_day, version, deleted FROM $source
