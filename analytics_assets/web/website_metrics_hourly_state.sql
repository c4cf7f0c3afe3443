-- The original Airflow examples' hourly rollup, correct: partial aggregation states, merged on read by the
-- `website_metrics_hourly` view. (A SummingMergeTree would add up avg/max/min on merges.)
-- One row per hour, metric and landing file: a file's contribution can be removed exactly.
CREATE TABLE IF NOT EXISTS $table (
    hour DateTime('UTC'),
    metric_name LowCardinality(String),
    source_file_id UInt64,
    total_value AggregateFunction(sum, Float64),
    avg_value AggregateFunction(avg, Float64),
    max_value AggregateFunction(max, Float64),
    min_value AggregateFunction(min, Float64),
    sample_count AggregateFunction(count)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (metric_name, hour, source_file_id)
