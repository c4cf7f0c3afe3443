-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    hour          DateTime('UTC') COMMENT 'Start of the hour',
    metric_name   LowCardinality(String) COMMENT 'Metric',
    total_value   Float64 COMMENT 'Sum of the hour''s points',
    avg_value     Float64 COMMENT 'Mean of the hour''s points',
    max_value     Float64 COMMENT 'Largest point',
    min_value     Float64 COMMENT 'Smallest point',
    sample_count  UInt64 COMMENT 'Points in the hour'
)
