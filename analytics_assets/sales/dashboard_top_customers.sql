-- The original Airflow examples' top 100 customers by net revenue over the last 90 days (COMPLETED, customer
-- exists). Ties are broken by customer_id and NULL revenue sorts last (in PostgreSQL a DESC sort
-- puts NULLs first: the original Airflow examples ranked customers of unknown revenue at the top).
CREATE TABLE $target
(
    rank                UInt32 COMMENT '1 = highest net revenue over the last 90 days',
    customer_id         Int64 COMMENT 'Customer',
    customer_name       Nullable(String) COMMENT 'Customer name',
    customer_segment    Nullable(String) COMMENT 'Customer segment',
    region              Nullable(String) COMMENT 'Customer region',
    total_orders        UInt64 COMMENT 'Completed sales, last 90 days',
    lifetime_value      Nullable(Decimal(18, 2)) COMMENT 'Net revenue, last 90 days',
    avg_order_value     Nullable(Decimal(18, 2)) COMMENT 'lifetime_value per order',
    last_purchase_date  Date32 COMMENT 'Day of the latest sale',
    last_purchase_at    DateTime64(6, 'UTC') COMMENT 'Time of the latest sale (UTC)',
    as_of               DateTime64(6, 'UTC') COMMENT 'Logical time the mart was built for',
    updated_at          DateTime64(6, 'UTC') COMMENT 'When this version was built (the logical time)'
)
ENGINE = MergeTree
ORDER BY rank
AS
SELECT
    toUInt32(row_number() OVER (ORDER BY lifetime_value DESC NULLS LAST, customer_id)) AS rank,
    *
FROM
(
    SELECT
        customer_id,
        customer_name,
        customer_segment,
        region,
        count() AS total_orders,  -- COUNT(DISTINCT sale_id): sale_id is unique in sales_fact (a gate)
        sum(net_amount) AS lifetime_value,
        round(toDecimal128(sum(net_amount), 10) / nullIf(count(net_amount), 0), 2) AS avg_order_value,
        toDate32(max(sale_date)) AS last_purchase_date,
        max(sale_date) AS last_purchase_at,
        {as_of:DateTime64(6, 'UTC')} AS as_of,
        {as_of:DateTime64(6, 'UTC')} AS updated_at
    FROM sales_fact
    WHERE {{ sales/completed_sale_before_as_of }}
      AND customer_found
      AND sale_day >= {window_start:Date32}
    GROUP BY customer_id, customer_name, customer_segment, region
    -- The top 100 first (a partial sort), then their ranks.
    ORDER BY lifetime_value DESC NULLS LAST, customer_id
    LIMIT 100
)
ORDER BY rank
