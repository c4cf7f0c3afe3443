-- The original Airflow examples' customer_segments: RFM, behaviour cluster, the original Airflow examples' simple 3-year CLV and its
-- quartile segment (rank-based: the original Airflow examples' pd.qcut crashed on tied values), plus the
-- BG/NBD + Gamma-Gamma model's columns (NULL when the model could not be fitted: a check says
-- so). One row per customer with a COMPLETED sale in the 365-day window.
-- The CLV quartile window sorts only the narrow `simple` rows (same inner joins, so the same rows
-- and count); sorting the joined wide rows (names, e-mails) cost three times the whole query.
CREATE TABLE $target
(
    customer_id                  Int64,
    customer_name                Nullable(String),
    email                        Nullable(String),
    signup_date                  Nullable(Date32),
    recency_days                 UInt32,
    frequency                    UInt32,
    monetary_value               Nullable(Decimal(18, 2)),
    avg_order_value              Nullable(Decimal(18, 2)),
    total_items_purchased        Nullable(Int64),
    categories_purchased         UInt32,
    last_purchase_date           Date32,
    first_purchase_date          Date32,
    r_score                      UInt8,
    f_score                      UInt8,
    m_score                      UInt8,
    rfm_score                    UInt16,
    rfm_segment                  LowCardinality(String),
    behavior_cluster             UInt8,
    behavior_segment             LowCardinality(String),
    customer_lifespan_days       UInt32,
    purchase_frequency_per_year  Float64,
    predicted_clv_3y             Nullable(Decimal(18, 2)),
    clv_segment                  LowCardinality(String),
    model_frequency              UInt32,
    model_recency_days           UInt32,
    model_T_days                 UInt32,
    expected_purchases_3y        Nullable(Float64),
    probability_alive            Nullable(Float64),
    expected_order_value         Nullable(Float64),
    model_clv_3y                 Nullable(Decimal(18, 2)),
    segmented_at                 DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY customer_id
AS
WITH simple AS
(
    SELECT
        r.customer_id AS customer_id,
        toUInt32(intDiv(dateDiff('second', r.first_purchase_at, r.last_purchase_at), 86400)) AS lifespan,
        if(lifespan > 0, r.frequency / lifespan * 365, toFloat64(r.frequency)) AS per_year,
        round(toDecimal128(r.avg_order_value, 10) * toDecimal128(per_year, 10) * 3, 2) AS clv_3y,
        ['Low Value', 'Medium Value', 'High Value', 'Very High Value'][
            1 + intDiv(4 * (row_number() OVER (ORDER BY ifNull(clv_3y, 0), r.customer_id) - 1), count() OVER ())
        ] AS clv_segment
    FROM customer_rfm AS r
    INNER JOIN customer_behavior_clusters AS b ON b.customer_id = r.customer_id
    INNER JOIN customer_clv AS m ON m.customer_id = r.customer_id
)
SELECT
    r.customer_id AS customer_id,
    c.customer_name, c.email, c.signup_date,
    r.recency_days, r.frequency, r.monetary_value, r.avg_order_value, r.total_items_purchased,
    r.categories_purchased, r.last_purchase_date, r.first_purchase_date,
    r.r_score, r.f_score, r.m_score, r.rfm_score, r.rfm_segment,
    b.behavior_cluster, b.behavior_segment,
    s.lifespan AS customer_lifespan_days,
    s.per_year AS purchase_frequency_per_year,
    s.clv_3y AS predicted_clv_3y,
    s.clv_segment AS clv_segment,
    m.frequency AS model_frequency,
    m.recency AS model_recency_days,
    m.T AS model_T_days,
    m.expected_purchases AS expected_purchases_3y,
    m.probability_alive AS probability_alive,
    m.expected_order_value AS expected_order_value,
    toDecimal64(round(m.clv, 2), 2) AS model_clv_3y,
    {as_of:DateTime64(6, 'UTC')} AS segmented_at
FROM customer_rfm AS r
INNER JOIN simple AS s ON s.customer_id = r.customer_id
INNER JOIN customer_behavior_clusters AS b ON b.customer_id = r.customer_id
INNER JOIN customer_clv AS m ON m.customer_id = r.customer_id
LEFT JOIN (SELECT customer_id, customer_name, email, signup_date FROM raw_customers FINAL) AS c
    ON c.customer_id = r.customer_id
ORDER BY customer_id
SETTINGS join_use_nulls = 1
