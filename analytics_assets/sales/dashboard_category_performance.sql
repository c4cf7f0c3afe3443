-- The original Airflow examples' category performance, last 30 days: COMPLETED sales whose product exists.
-- revenue_share is exact (the original Airflow examples rounds a float); NULL when total revenue is 0.
CREATE TABLE $target
(
    category          Nullable(String) COMMENT 'Product category',
    subcategory       Nullable(String) COMMENT 'Product subcategory',
    total_orders      UInt64 COMMENT 'Completed sales, last 30 days',
    units_sold        Nullable(Int64) COMMENT 'Units sold',
    revenue           Nullable(Decimal(18, 2)) COMMENT 'Net revenue',
    avg_sale_value    Nullable(Decimal(18, 2)) COMMENT 'revenue per sale',
    unique_customers  UInt64 COMMENT 'Distinct customers',
    products_sold     UInt64 COMMENT 'Distinct products sold',
    revenue_share     Nullable(Decimal(18, 2)) COMMENT 'Percent of the 30 days'' net revenue',
    as_of             DateTime64(6, 'UTC') COMMENT 'Logical time the mart was built for',
    updated_at        DateTime64(6, 'UTC') COMMENT 'When this version was built (the logical time)'
)
ENGINE = MergeTree
ORDER BY tuple()
AS
SELECT
    category,
    subcategory,
    count() AS total_orders,  -- COUNT(DISTINCT sale_id): sale_id is unique in sales_fact (a gate)
    sum(quantity) AS units_sold,
    sum(net_amount) AS revenue,
    round(toDecimal128(sum(net_amount), 10) / nullIf(count(net_amount), 0), 2) AS avg_sale_value,
    uniqExact(customer_id) AS unique_customers,
    uniqExact(product_id) AS products_sold,
    round(toDecimal128(sum(net_amount), 10) * 100 / nullIf(sum(sum(net_amount)) OVER (), 0), 2) AS revenue_share,
    {as_of:DateTime64(6, 'UTC')} AS as_of,
    {as_of:DateTime64(6, 'UTC')} AS updated_at
FROM sales_fact
WHERE {{ sales/completed_sale_before_as_of }}
  AND product_found
  AND sale_day >= {window_start:Date32}
GROUP BY category, subcategory
ORDER BY revenue DESC NULLS LAST, category, subcategory
