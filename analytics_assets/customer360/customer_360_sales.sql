-- customer_360's copy of sales_fact's completed sales of a known customer id, sorted by customer:
-- an hourly delta reads its touched customers' history from here by the primary key instead of
-- scanning the fact (sorted by day). customer_found is kept: a customer that arrives (or goes)
-- later changes it, and only found customers' sales count. Changes are inserted as new versions
-- (a changed sale's previous row gets a `deleted` one): read it with FINAL. $source: sales_fact
-- (full build), or the changed sales' fact rows.
CREATE TABLE $target ENGINE = ReplacingMergeTree(version, deleted) ORDER BY (customer_id, sale_id)
SETTINGS index_granularity = 1024 AS
SELECT assumeNotNull(customer_id) AS customer_id, sale_id, sale_day, sale_date, quantity, net_amount, category,
       customer_found, toUInt64(0) AS version, toUInt8(0) AS deleted
FROM $source
WHERE {{ sales/completed_sale }} AND customer_id IS NOT NULL
