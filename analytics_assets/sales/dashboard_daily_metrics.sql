-- The original Airflow examples' daily metrics, last 7 days to the logical time: COMPLETED sales whose customer and
-- product exist (the original Airflow examples' inner joins). The original Airflow examples' fixed segment/region/category columns are
-- kept; the *_other_revenue columns hold everything outside those lists (NULL included), so the
-- splits always add up to net_revenue.
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
    count() AS total_orders,
    uniqExact(customer_id) AS unique_customers,
    sum(quantity) AS total_units_sold,
    sum(total_amount) AS gross_revenue,
    sum(discount_amount) AS total_discounts,
    sum(net_amount) AS net_revenue,
    round(toDecimal128(sum(net_amount), 10) / nullIf(count(net_amount), 0), 2) AS avg_order_value,
    sum(if(customer_segment = 'Enterprise', net_amount, 0)) AS enterprise_revenue,
    sum(if(customer_segment = 'SMB', net_amount, 0)) AS smb_revenue,
    sum(if(customer_segment = 'Consumer', net_amount, 0)) AS consumer_revenue,
    sum(if(ifNull(customer_segment, '') NOT IN ('Enterprise', 'SMB', 'Consumer'), net_amount, 0)) AS other_segment_revenue,
    sum(if(region = 'North America', net_amount, 0)) AS na_revenue,
    sum(if(region = 'Europe', net_amount, 0)) AS emea_revenue,
    sum(if(region = 'Asia Pacific', net_amount, 0)) AS apac_revenue,
    sum(if(ifNull(region, '') NOT IN ('North America', 'Europe', 'Asia Pacific'), net_amount, 0)) AS other_region_revenue,
    sum(if(category = 'Electronics', net_amount, 0)) AS electronics_revenue,
    sum(if(category = 'Apparel', net_amount, 0)) AS apparel_revenue,
    sum(if(category = 'Home & Garden', net_amount, 0)) AS home_revenue,
    sum(if(ifNull(category, '') NOT IN ('Electronics', 'Apparel', 'Home & Garden'), net_amount, 0)) AS other_category_revenue,
    total_units_sold / nullIf(total_orders, 0) AS items_per_order,
    toFloat64(total_discounts) / nullIf(toFloat64(gross_revenue), 0) AS discount_rate,
    {as_of:DateTime64(6, 'UTC')} AS as_of,
    {as_of:DateTime64(6, 'UTC')} AS updated_at
FROM sales_fact
WHERE status = 'COMPLETED'
  AND customer_found AND product_found
  AND sale_day >= {as_of_date:Date32} - 7
  AND sale_date < {as_of:DateTime64(6, 'UTC')}
GROUP BY sale_day
ORDER BY date DESC
