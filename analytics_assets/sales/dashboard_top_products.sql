-- The original Airflow examples' top 100 products by net revenue over the last 90 days (COMPLETED, product exists);
-- ties broken by product_id, NULL revenue last.
CREATE TABLE $target
(
    rank              UInt32 COMMENT '1 = highest net revenue over the last 90 days',
    product_id        Int64 COMMENT 'Product',
    product_name      Nullable(String) COMMENT 'Product name',
    category          Nullable(String) COMMENT 'Product category',
    subcategory       Nullable(String) COMMENT 'Product subcategory',
    times_sold        UInt64 COMMENT 'Completed sales, last 90 days',
    units_sold        Nullable(Int64) COMMENT 'Units sold',
    revenue           Nullable(Decimal(18, 2)) COMMENT 'Net revenue, last 90 days',
    unique_customers  UInt64 COMMENT 'Distinct customers',
    as_of             DateTime64(6, 'UTC') COMMENT 'Logical time the mart was built for',
    updated_at        DateTime64(6, 'UTC') COMMENT 'When this version was built (the logical time)'
)
ENGINE = MergeTree
ORDER BY rank
AS
SELECT
    toUInt32(row_number() OVER (ORDER BY revenue DESC NULLS LAST, product_id)) AS rank,
    *
FROM
(
    SELECT
        product_id,
        product_name,
        category,
        subcategory,
        count() AS times_sold,  -- COUNT(DISTINCT sale_id): sale_id is unique in sales_fact (a gate)
        sum(quantity) AS units_sold,
        sum(net_amount) AS revenue,
        uniqExact(customer_id) AS unique_customers,
        {as_of:DateTime64(6, 'UTC')} AS as_of,
        {as_of:DateTime64(6, 'UTC')} AS updated_at
    FROM sales_fact
    WHERE {{ sales/completed_sale_before_as_of }}
      AND product_found
      AND sale_day >= {window_start:Date32}
    GROUP BY product_id, product_name, category, subcategory
    ORDER BY revenue DESC NULLS LAST, product_id
    LIMIT 100
)
ORDER BY rank
