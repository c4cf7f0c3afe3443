-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    cohort_month        Date COMMENT 'Month of the first completed purchase',
    months_since_first  UInt16 COMMENT 'Months after the cohort month (0: the cohort month)',
    cohort_size         UInt64 COMMENT 'Customers in the cohort',
    active_customers    UInt64 COMMENT 'Cohort customers with a completed sale that month',
    retention_rate      Float64 COMMENT 'active_customers / cohort_size',
    revenue             Nullable(Decimal(38, 2)) COMMENT 'Net revenue of the cohort that month'
)
