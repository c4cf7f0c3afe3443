-- What an hourly delta recomputes, from the marks of the last build (sales_fact_state's, as
-- they were then) and its logical time.
-- $changed: the sales whose fact rows customer_360_sales may not hold as they are now: every
-- sale that arrived in the replica since the marks, and every sale of a customer that did (one
-- that arrives or goes changes customer_found). With the day to look for it in sales_fact.
CREATE TABLE $changed (sale_id Int64, sale_day Date32) ENGINE = Memory;

INSERT INTO $changed
SELECT sale_id, ifNull(toDate32(sale_date), toDate32('1970-01-01')) FROM raw_sales
WHERE _synced_at > {sales_since:DateTime64(6, 'UTC')};

INSERT INTO $changed
SELECT sale_id, sale_day FROM $sales FINAL
WHERE customer_id IN (SELECT customer_id FROM raw_customers WHERE _synced_at > {customers_since:DateTime64(6, 'UTC')});

-- Where customer_360_sales has them now: their customer and day before the change.
CREATE TABLE $old ENGINE = Memory AS
SELECT sale_id, customer_id, sale_day FROM $sale_index FINAL WHERE sale_id IN (SELECT sale_id FROM $changed);
