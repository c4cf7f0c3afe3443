-- The original Airflow examples' regional breakdown, last 30 days: COMPLETED sales whose customer exists.
CREATE TABLE $target
(
    region            Nullable(String) COMMENT 'Customer region',
    country           Nullable(String) COMMENT 'Customer country',
    state             Nullable(String) COMMENT 'Customer state or province',
    total_orders      UInt64 COMMENT 'Completed sales, last 30 days',
    revenue           Nullable(Decimal(18, 2)) COMMENT 'Net revenue',
    active_customers  UInt64 COMMENT 'Distinct customers who bought',
    avg_order_value   Nullable(Decimal(18, 2)) COMMENT 'revenue per order',
    as_of             DateTime64(6, 'UTC') COMMENT 'Logical time the mart was built for',
    updated_at        DateTime64(6, 'UTC') COMMENT 'When this version was built (the logical time)'
)
ENGINE = MergeTree
ORDER BY tuple()
AS
SELECT
    region,
    country,
    state,
    count() AS total_orders,  -- COUNT(DISTINCT sale_id): sale_id is unique in sales_fact (a gate)
    sum(net_amount) AS revenue,
    uniqExact(customer_id) AS active_customers,
    round(toDecimal128(sum(net_amount), 10) / nullIf(count(net_amount), 0), 2) AS avg_order_value,
    {as_of:DateTime64(6, 'UTC')} AS as_of,
    {as_of:DateTime64(6, 'UTC')} AS updated_at
FROM sales_fact
WHERE {{ sales/completed_sale_before_as_of }}
  AND customer_found
  AND sale_day >= {window_start:Date32}
GROUP BY region, country, state
ORDER BY revenue DESC NULLS LAST, region, country, state
