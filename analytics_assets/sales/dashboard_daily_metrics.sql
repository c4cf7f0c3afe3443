-- The original Airflow examples' daily metrics for every day up to the logical time (they kept
-- every day: the view dashboard_daily_metrics_last_7_days is their 7-day window): COMPLETED sales
-- whose customer and product exist (their inner joins). Their fixed segment/region/category columns
-- are kept; the *_other_revenue columns hold everything outside those lists (NULL included), so
-- the splits always add up to net_revenue. Read from the run's per-day pre-aggregate
-- (sales_by_day.sql: sales_fact_daily's days plus the logical day), not from sales_fact.
CREATE TABLE $target
(
    date                    Date32 COMMENT 'Day of the sales (UTC)',
    total_orders            UInt64 COMMENT 'Completed sales that day',
    unique_customers        UInt64 COMMENT 'Distinct customers',
    total_units_sold        Nullable(Int64) COMMENT 'Units sold',
    gross_revenue           Nullable(Decimal(18, 2)) COMMENT 'Sum of total_amount',
    total_discounts         Nullable(Decimal(18, 2)) COMMENT 'Sum of discount_amount',
    net_revenue             Nullable(Decimal(18, 2)) COMMENT 'Sum of net_amount',
    avg_order_value         Nullable(Decimal(18, 2)) COMMENT 'net_revenue per order',
    enterprise_revenue      Nullable(Decimal(18, 2)) COMMENT 'Net revenue of Enterprise customers',
    smb_revenue             Nullable(Decimal(18, 2)) COMMENT 'Net revenue of SMB customers',
    consumer_revenue        Nullable(Decimal(18, 2)) COMMENT 'Net revenue of Consumer customers',
    other_segment_revenue   Nullable(Decimal(18, 2)) COMMENT 'Net revenue of any other segment (NULL included)',
    na_revenue              Nullable(Decimal(18, 2)) COMMENT 'Net revenue in North America',
    emea_revenue            Nullable(Decimal(18, 2)) COMMENT 'Net revenue in Europe',
    apac_revenue            Nullable(Decimal(18, 2)) COMMENT 'Net revenue in Asia Pacific',
    other_region_revenue    Nullable(Decimal(18, 2)) COMMENT 'Net revenue in any other region (NULL included)',
    electronics_revenue     Nullable(Decimal(18, 2)) COMMENT 'Net revenue of Electronics',
    apparel_revenue         Nullable(Decimal(18, 2)) COMMENT 'Net revenue of Apparel',
    home_revenue            Nullable(Decimal(18, 2)) COMMENT 'Net revenue of Home & Garden',
    other_category_revenue  Nullable(Decimal(18, 2)) COMMENT 'Net revenue of any other category (NULL included)',
    items_per_order         Nullable(Float64) COMMENT 'Units per order',
    discount_rate           Nullable(Float64) COMMENT 'total_discounts / gross_revenue',
    as_of                   DateTime64(6, 'UTC') COMMENT 'Logical time the mart was built for',
    updated_at              DateTime64(6, 'UTC') COMMENT 'When this version was built (the logical time)'
)
ENGINE = MergeTree
ORDER BY date
AS
SELECT
    sale_day AS date,
    total_orders,
    unique_customers,
    total_units_sold,
    gross_revenue,
    total_discounts,
    net_revenue,
    avg_order_value,
    enterprise_revenue,
    smb_revenue,
    consumer_revenue,
    other_segment_revenue,
    na_revenue,
    emea_revenue,
    apac_revenue,
    other_region_revenue,
    electronics_revenue,
    apparel_revenue,
    home_revenue,
    other_category_revenue,
    items_per_order,
    discount_rate,
    {as_of:DateTime64(6, 'UTC')} AS as_of,
    {as_of:DateTime64(6, 'UTC')} AS updated_at
FROM $sales_by_day
WHERE total_orders > 0
ORDER BY date DESC
