-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    date            Date COMMENT 'Day (UTC)',
    metric_name     LowCardinality(String) COMMENT 'Metric',
    aggregation     String COMMENT 'sum for additive metrics, avg for gauges',
    previous_date   Date COMMENT 'The same calendar day a year earlier (28 February for 29 February)',
    current_value   Float64 COMMENT 'The day''s value',
    previous_value  Nullable(Float64) COMMENT 'The value a year earlier, over the same hours (NULL: no data)',
    yoy_growth_pct  Nullable(Float64) COMMENT 'Growth in percent (NULL when last year''s value is 0 or missing)',
    is_complete     UInt8 COMMENT '1 once the day has ended before the logical time'
)
