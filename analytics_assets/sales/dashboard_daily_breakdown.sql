-- Long format of the daily metrics' splits: one row per day, dimension and value, for every
-- value the data holds (not only the original Airflow examples' hard-coded lists; NULL is a value too), so nothing
-- is invisible. Same rows as dashboard_daily_metrics: for each day and dimension the values add
-- up to its net_revenue.
CREATE TABLE $target
(
    date              Date32 COMMENT 'Day of the sales (UTC)',
    dimension         LowCardinality(String) COMMENT 'segment, region or category',
    value             Nullable(String) COMMENT 'The dimension''s value (NULL is a value)',
    in_seed_columns   UInt8 COMMENT '1 if dashboard_daily_metrics has a column of its own for the value',
    orders            UInt64 COMMENT 'Completed sales',
    net_revenue       Nullable(Decimal(18, 2)) COMMENT 'Sum of net_amount',
    as_of             DateTime64(6, 'UTC') COMMENT 'Logical time the mart was built for',
    updated_at        DateTime64(6, 'UTC') COMMENT 'When this version was built (the logical time)'
)
ENGINE = MergeTree
ORDER BY (date, dimension)
AS
SELECT
    sale_day AS date,
    split.1 AS dimension,
    split.2 AS value,
    toUInt8(ifNull(has(split.3, split.2), 0)) AS in_seed_columns,
    count() AS orders,
    sum(net_amount) AS net_revenue,
    {as_of:DateTime64(6, 'UTC')} AS as_of,
    {as_of:DateTime64(6, 'UTC')} AS updated_at
FROM sales_fact
ARRAY JOIN [
    tuple('segment', CAST(customer_segment AS Nullable(String)), ['Enterprise', 'SMB', 'Consumer']),
    tuple('region', CAST(region AS Nullable(String)), ['North America', 'Europe', 'Asia Pacific']),
    tuple('category', CAST(category AS Nullable(String)), ['Electronics', 'Apparel', 'Home & Garden'])
] AS split
WHERE {{ sales/completed_sale_before_as_of }}
  AND customer_found AND product_found
  AND sale_day >= {window_start:Date32}
GROUP BY date, dimension, value, in_seed_columns
ORDER BY date DESC, dimension, net_revenue DESC NULLS LAST, value
