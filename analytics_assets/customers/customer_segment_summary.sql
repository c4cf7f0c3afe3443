-- The original Airflow examples' customer_segment_summary, per RFM segment.
CREATE TABLE $target
(
    rfm_segment      LowCardinality(String) COMMENT 'RFM segment',
    customer_count   UInt64 COMMENT 'Customers in it',
    avg_ltv          Nullable(Decimal(18, 2)) COMMENT 'Mean monetary_value (365 days)',
    avg_frequency    Float64 COMMENT 'Mean completed sales (365 days)',
    avg_recency      Float64 COMMENT 'Mean recency_days',
    total_revenue    Nullable(Decimal(18, 2)) COMMENT 'Sum of monetary_value',
    avg_model_clv_3y Nullable(Decimal(18, 2)) COMMENT 'Mean model_clv_3y of the customers with a model',
    calculated_at    DateTime64(6, 'UTC') COMMENT 'Logical time of the build'
)
ENGINE = MergeTree
ORDER BY rfm_segment
AS
SELECT
    rfm_segment,
    count() AS customer_count,
    round(toDecimal128(sum(monetary_value), 10) / nullIf(count(monetary_value), 0), 2) AS avg_ltv,
    avg(frequency) AS avg_frequency,
    avg(recency_days) AS avg_recency,
    sum(monetary_value) AS total_revenue,
    round(toDecimal128(sum(model_clv_3y), 10) / nullIf(count(model_clv_3y), 0), 2) AS avg_model_clv_3y,
    {as_of:DateTime64(6, 'UTC')} AS calculated_at
FROM customer_segments
GROUP BY rfm_segment
ORDER BY rfm_segment
