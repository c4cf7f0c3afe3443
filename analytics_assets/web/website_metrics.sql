-- Raw metric points, as the original Airflow examples defines them, plus the landing file each point came from
-- (a partly loaded file can then be taken out exactly). Retention: see `web_ttl_days`.
CREATE TABLE IF NOT EXISTS $table (
    timestamp DateTime('UTC') COMMENT 'When the point was measured (UTC)',
    metric_name LowCardinality(String) COMMENT 'Metric',
    metric_value Float64 COMMENT 'Measured value',
    dimensions Map(String, String) COMMENT 'Dimensions of the point (page, device, ...)',
    tags Array(String) COMMENT 'Tags of the point',
    source_file_id UInt64 COMMENT 'The landing file the point came from'
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (metric_name, timestamp)
-- Expired days go as whole parts: a day is either complete or gone.
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
