-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    date            Date COMMENT 'Day (UTC)',
    metric_name     LowCardinality(String) COMMENT 'Metric',
    aggregation     String COMMENT 'sum for additive metrics, avg for gauges (ANALYTICS_WEB_GAUGE_METRICS)',
    value           Float64 COMMENT 'The day''s value (sum, or mean of the points for a gauge)',
    ma_7day         Float64 COMMENT 'Mean of the values of the 7 calendar days ending with this one',
    days_in_window  UInt8 COMMENT 'How many of those 7 days had data',
    is_complete     UInt8 COMMENT '1 once the day has ended before the logical time'
)
