-- Each active customer's K-Means cluster and the original Airflow examples' label for it.
CREATE TABLE $target
(
    customer_id       Int64 COMMENT 'The customer (in customer_rfm)',
    behavior_cluster  UInt8 COMMENT 'K-Means cluster number (k=5, fixed seed)',
    behavior_segment  LowCardinality(String) COMMENT 'The cluster''s label (VIP, Frequent, Active, Dormant, Regular)',
    as_of             DateTime64(6, 'UTC') COMMENT 'Logical time of the build'
)
ENGINE = MergeTree
ORDER BY customer_id
