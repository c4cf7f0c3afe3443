-- Product events from the landing folder (one file loaded once; see landing/load.py), daily
-- partitions. customer_id is set where the product knows who the user is (a signed-in
-- purchase): it ties events to `customer_360`. Retention: ANALYTICS_EVENTS_TTL_DAYS.
CREATE TABLE IF NOT EXISTS $table (
    event_time DateTime64(3, 'UTC'),
    event_date Date MATERIALIZED toDate(event_time),
    event_name LowCardinality(String),
    user_id String,
    session_id String,
    customer_id Nullable(UInt64),
    properties Map(String, String),
    source_file_id UInt64
) ENGINE = MergeTree
PARTITION BY event_date
ORDER BY (event_name, user_id, event_time)
-- Expired days go as whole parts: a day is either complete or gone.
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
