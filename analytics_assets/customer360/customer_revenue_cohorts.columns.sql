-- The columns ClickHouse gives the table built by the .sql file of the same name (whose CREATE
-- lets the query type them): read by warehouse/columns.py for the asset's column schema, never
-- executed. A test builds the table and compares.
(
    cohort_month                     Date COMMENT 'Month of the first completed purchase',
    months_since_first               UInt16 COMMENT 'Months after the cohort month (0: the cohort month)',
    cohort_size                      UInt64 COMMENT 'Customers in the cohort',
    revenue                          Nullable(Decimal(38, 2)) COMMENT 'Net revenue of the cohort that month',
    revenue_per_customer             Nullable(Decimal(18, 2)) COMMENT 'revenue / cohort_size',
    cumulative_revenue_per_customer  Nullable(Decimal(18, 2)) COMMENT 'Revenue per cohort customer up to that month',
    revenue_retention_pct            Nullable(Float64) COMMENT 'Revenue as a percentage of the first month''s (NULL: none then)'
)
