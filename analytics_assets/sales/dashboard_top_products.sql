-- The original Airflow examples' top 100 products by net revenue over the last 90 days (COMPLETED, product exists);
-- ties broken by product_id, NULL revenue last.
CREATE TABLE $target
(
    rank              UInt32,
    product_id        Int64,
    product_name      Nullable(String),
    category          Nullable(String),
    subcategory       Nullable(String),
    times_sold        UInt64,
    units_sold        Nullable(Int64),
    revenue           Nullable(Decimal(18, 2)),
    unique_customers  UInt64,
    as_of             DateTime64(6, 'UTC'),
    updated_at        DateTime64(6, 'UTC')
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
    WHERE status = 'COMPLETED'
      AND product_found
      AND sale_day >= {as_of_date:Date32} - 90
      AND sale_date < {as_of:DateTime64(6, 'UTC')}
    GROUP BY product_id, product_name, category, subcategory
    ORDER BY revenue DESC NULLS LAST, product_id
    LIMIT 100
)
ORDER BY rank
