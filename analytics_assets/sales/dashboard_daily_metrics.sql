-- The original Airflow examples' daily metrics for every day up to the logical time (they kept
-- every day: the view dashboard_daily_metrics_last_7_days is their 7-day window): COMPLETED sales
-- whose customer and product exist (their inner joins). Their fixed segment/region/category columns
-- are kept; the *_other_revenue columns hold everything outside those lists (NULL included), so
-- the splits always add up to net_revenue. Read from the run's per-day pre-aggregate
-- (sales_by_day.sql: sales_fact_daily's days plus the logical day), not from sales_fact.
CREATE TABLE $target
(
    date                    Date32,
    total_orders            UInt64,
    unique_customers        UInt64,
    total_units_sold        Nullable(Int64),
    gross_revenue           Nullable(Decimal(18, 2)),
    total_discounts         Nullable(Decimal(18, 2)),
    net_revenue             Nullable(Decimal(18, 2)),
    avg_order_value         Nullable(Decimal(18, 2)),
    enterprise_revenue      Nullable(Decimal(18, 2)),
    smb_revenue             Nullable(Decimal(18, 2)),
    consumer_revenue        Nullable(Decimal(18, 2)),
    other_segment_revenue   Nullable(Decimal(18, 2)),
    na_revenue              Nullable(Decimal(18, 2)),
    emea_revenue            Nullable(Decimal(18, 2)),
    apac_revenue            Nullable(Decimal(18, 2)),
    other_region_revenue    Nullable(Decimal(18, 2)),
    electronics_revenue     Nullable(Decimal(18, 2)),
    apparel_revenue         Nullable(Decimal(18, 2)),
    home_revenue            Nullable(Decimal(18, 2)),
    other_category_revenue  Nullable(Decimal(18, 2)),
    items_per_order         Nullable(Float64),
    discount_rate           Nullable(Float64),
    as_of                   DateTime64(6, 'UTC'),
    updated_at              DateTime64(6, 'UTC')
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
