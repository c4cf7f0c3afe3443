-- Product engagement of every customer with signed-in events before the logical time. Computed
-- whole each run (product_events is bounded by its TTL, not by the sales history): an hourly
-- delta recomputes the customers whose figures differ from customer_360's.
CREATE TABLE $target ENGINE = MergeTree ORDER BY customer_id AS
SELECT
    assumeNotNull(customer_id) AS customer_id,
    countIf(event_time >= {as_of:DateTime64(6, 'UTC')} - INTERVAL 30 DAY) AS events_30d,
    uniqExactIf(session_id, session_id != '' AND event_time >= {as_of:DateTime64(6, 'UTC')} - INTERVAL 30 DAY)
        AS sessions_30d,
    max(event_time) AS last_event_time
FROM product_events
WHERE customer_id IS NOT NULL AND event_time < {as_of:DateTime64(6, 'UTC')}
GROUP BY customer_id
