-- The customers whose customer_360 row may differ from the previous version's (beyond as_of and
-- days_since_last_purchase, set for every row): those of the changed sales before and after,
-- those that changed themselves, those with a completed sale that moving the logical time takes
-- in or out (of all time, of the 30- and 365-day windows), and those whose product engagement
-- differs. $fresh: the changed sales' rows now.
CREATE TABLE $touched (customer_id Int64) ENGINE = Memory;

INSERT INTO $touched
SELECT customer_id FROM $old
UNION ALL
SELECT customer_id FROM $fresh
UNION ALL
SELECT customer_id FROM raw_customers WHERE _synced_at > {customers_since:DateTime64(6, 'UTC')};

-- The logical time moved from one of {from} and {to} to the other: sales_fact is sorted by day,
-- so this reads the days between them and the windows' edge days only.
INSERT INTO $touched
SELECT assumeNotNull(customer_id) FROM sales_fact
WHERE {{ sales/completed_sale }} AND customer_found AND (
    (sale_day BETWEEN toDate32({from:DateTime64(6, 'UTC')}) AND toDate32({to:DateTime64(6, 'UTC')})
     AND sale_date >= {from:DateTime64(6, 'UTC')} AND sale_date < {to:DateTime64(6, 'UTC')})
    OR (sale_day >= {from_date:Date32} - 30 AND sale_day < {to_date:Date32} - 30)
    OR (sale_day >= {from_date:Date32} - 365 AND sale_day < {to_date:Date32} - 365));

INSERT INTO $touched
SELECT o.customer_id FROM customer_360 AS o
LEFT JOIN $engagement AS e ON e.customer_id = o.customer_id
WHERE o.product_events_30d != ifNull(e.events_30d, 0)
   OR o.product_sessions_30d != ifNull(e.sessions_30d, 0)
   OR (o.last_product_event_time IS NULL) != (e.last_event_time IS NULL)
   OR ifNull(o.last_product_event_time != e.last_event_time, 0)
SETTINGS join_use_nulls = 1;

-- The days whose sales_fact totals (customer_360_sales_days) are read again.
CREATE TABLE $days ENGINE = Memory AS
SELECT DISTINCT sale_day FROM (SELECT sale_day FROM $old UNION ALL SELECT sale_day FROM $fresh);
