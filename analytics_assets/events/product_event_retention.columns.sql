-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    cohort_week        Date COMMENT 'Monday of the week the users were first seen (UTC)',
    weeks_since_first  UInt8 COMMENT 'Weeks after the cohort week, 0 to 12',
    cohort_users       UInt64 COMMENT 'Users first seen that week',
    active_users       UInt64 COMMENT 'Cohort users with an event that week',
    retention_rate     Float64 COMMENT 'active_users / cohort_users',
    is_complete        UInt8 COMMENT '1 once the week has ended before the logical time'
)
