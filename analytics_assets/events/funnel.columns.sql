-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
-- Every funnel's table has these columns.
(
    date                  Date COMMENT 'Day the users'' funnels started (UTC)',
    step                  UInt8 COMMENT 'Step position, 1 = the first',
    step_name             String COMMENT 'Event name of the step',
    users                 UInt64 COMMENT 'Users who reached the step within the window',
    conversion_rate       Float64 COMMENT 'users / users of step 1',
    step_conversion_rate  Nullable(Float64) COMMENT 'users / users of the step before (1 for step 1)',
    is_complete           UInt8 COMMENT '1 once the day plus the window has passed the logical time'
)
