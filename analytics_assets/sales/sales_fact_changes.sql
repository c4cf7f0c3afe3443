-- Every stored version (tombstones included) of each sale that arrived in ClickHouse since the
-- last refresh: new, changed and deleted sales. $changed has raw_sales' engine, so FINAL gives
-- each sale's current state.
INSERT INTO $changed
SELECT * FROM raw_sales
WHERE sale_id IN (SELECT sale_id FROM raw_sales WHERE _synced_at > {sales_since:DateTime64(6, 'UTC')});
