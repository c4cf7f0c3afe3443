-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    date          Date COMMENT 'Day the profile is as of (the weeks ending with it)',
    metric_name   LowCardinality(String) COMMENT 'Metric',
    aggregation   String COMMENT 'sum for additive metrics, avg for gauges',
    day_of_week   UInt8 COMMENT '1 = Monday .. 7 = Sunday',
    hour_of_day   UInt8 COMMENT '0..23 (UTC)',
    mean_value    Float64 COMMENT 'Mean of the hourly values at that slot',
    median_value  Float64 COMMENT 'Median of the hourly values at that slot',
    samples       UInt32 COMMENT 'Hourly values at that slot'
)
