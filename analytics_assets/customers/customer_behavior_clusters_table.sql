-- Each active customer's K-Means cluster and the original Airflow examples' label for it.
CREATE TABLE $target
(
    customer_id       Int64,
    behavior_cluster  UInt8,
    behavior_segment  LowCardinality(String),
    as_of             DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY customer_id
