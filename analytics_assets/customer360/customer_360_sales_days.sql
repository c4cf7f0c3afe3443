-- sales_fact's counted sales (completed, known customer, dated) per day, read from the fact for
-- the days a refresh touched: what `reconciles_with_sales_fact` checks customer_360 against
-- without scanning the fact. Read it with FINAL. $source: sales_fact, or its touched days.
CREATE TABLE $target ENGINE = ReplacingMergeTree(version, deleted) ORDER BY sale_day AS
SELECT sale_day, count() AS orders, sum(ifNull(net_amount, 0)) AS net_revenue,
       toUInt64(0) AS version, toUInt8(0) AS deleted
FROM $source
WHERE {{ sales/completed_sale }} AND customer_found AND sale_date IS NOT NULL
GROUP BY sale_day
