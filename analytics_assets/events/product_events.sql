-- Product events from the landing folder (one file loaded once; see landing/load.py), daily
-- partitions. customer_id is set where the product knows who the user is (a signed-in
-- purchase): it ties events to `customer_360`. Retention: ANALYTICS_EVENTS_TTL_DAYS.
CREATE TABLE IF NOT EXISTS $table (
    event_time DateTime64(3, 'UTC') COMMENT 'When the event happened (UTC, milliseconds)',
    event_date Date MATERIALIZED toDate(event_time) COMMENT 'Day of event_time (the partition)',
    event_name LowCardinality(String) COMMENT 'What happened (page_view, add_to_cart, purchase, ...)',
    user_id String COMMENT 'The product''s user id',
    session_id String COMMENT 'The session',
    customer_id Nullable(UInt64) COMMENT 'The customer (sales) when the user was signed in, else NULL',
    properties Map(String, String) COMMENT 'Other fields of the event, as strings',
    source_file_id UInt64 COMMENT 'The landing file the event came from'
) ENGINE = MergeTree
PARTITION BY event_date
ORDER BY (event_name, user_id, event_time)
-- Expired days go as whole parts: a day is either complete or gone.
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
