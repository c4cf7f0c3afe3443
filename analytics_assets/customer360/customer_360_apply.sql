-- Apply the changed sales to customer_360's own tables, as new versions: {version} takes out
-- the previous rows ($old: where the changed sales were; $days: the days read again), then
-- {version} + 1 puts in the new ones ($fresh, $fresh_index, $fresh_days: built by the same files
-- as a full build). The state says `_applying` meanwhile: a refresh that stops part-way is
-- followed by a full build.
INSERT INTO customer_360_sales (customer_id, sale_id, sale_day, version, deleted)
SELECT customer_id, sale_id, sale_day, {version:UInt64}, 1 FROM $old;

INSERT INTO customer_360_sales SELECT * REPLACE ({version:UInt64} + 1 AS version) FROM $fresh;

INSERT INTO customer_360_sale_index (sale_id, customer_id, sale_day, version, deleted)
SELECT sale_id, customer_id, sale_day, {version:UInt64}, 1 FROM $old;

INSERT INTO customer_360_sale_index SELECT * REPLACE ({version:UInt64} + 1 AS version) FROM $fresh_index;

INSERT INTO customer_360_sales_days (sale_day, version, deleted)
SELECT sale_day, {version:UInt64}, 1 FROM $days;

INSERT INTO customer_360_sales_days SELECT * REPLACE ({version:UInt64} + 1 AS version) FROM $fresh_days;
