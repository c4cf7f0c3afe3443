-- Every stored version (tombstones included) of each sale with a version newer than what
-- sales_fact holds: new, changed and deleted sales (a tombstone carries the time the delete was
-- found). $changed has raw_sales' engine, so FINAL gives each sale's current state.
INSERT INTO $changed
SELECT * FROM raw_sales
WHERE sale_id IN (SELECT sale_id FROM raw_sales WHERE updated_at > {sales_since:DateTime64(6, 'UTC')});
