-- The original Airflow examples' customer_segment_summary, per RFM segment.
CREATE TABLE $target
(
    rfm_segment      LowCardinality(String),
    customer_count   UInt64,
    avg_ltv          Nullable(Decimal(18, 2)),
    avg_frequency    Float64,
    avg_recency      Float64,
    total_revenue    Nullable(Decimal(18, 2)),
    avg_model_clv_3y Nullable(Decimal(18, 2)),
    calculated_at    DateTime64(6, 'UTC')
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
