-- Raw metric points, as the original Airflow examples defines them, plus the landing file each point came from
-- (a partly loaded file can then be taken out exactly). Retention: see `web_ttl_days`.
CREATE TABLE IF NOT EXISTS $table (
    timestamp DateTime('UTC'),
    metric_name LowCardinality(String),
    metric_value Float64,
    dimensions Map(String, String),
    tags Array(String),
    source_file_id UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (metric_name, timestamp)
-- Expired days go as whole parts: a day is either complete or gone.
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
