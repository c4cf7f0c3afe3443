-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    date              Date COMMENT 'Day of the hour (UTC)',
    hour              DateTime('UTC') COMMENT 'Start of the hour',
    metric_name       LowCardinality(String) COMMENT 'Metric',
    aggregation       String COMMENT 'sum for additive metrics, avg for gauges',
    value             Float64 COMMENT 'The hour''s value (0 for an additive metric without points)',
    baseline_mean     Nullable(Float64) COMMENT 'Mean of the same hour of the week over the previous weeks',
    baseline_stddev   Nullable(Float64) COMMENT 'Spread pooled over the week''s days at that hour, widened for the mean''s error',
    baseline_samples  UInt32 COMMENT 'Past weeks in the baseline',
    varies            UInt8 COMMENT '1 when the baseline has enough weeks and a non-zero spread',
    z_score           Nullable(Float64) COMMENT '(value - baseline_mean) / baseline_stddev (NULL: flat or no baseline)',
    threshold         Float64 COMMENT '|z| above this is an ANOMALY (ANALYTICS_WEB_ANOMALY_Z)',
    status            String COMMENT 'NORMAL, ANOMALY or NO_BASELINE'
)
