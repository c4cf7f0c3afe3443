-- The original Airflow examples' customer_segments: RFM, behaviour cluster, the original Airflow examples' simple 3-year CLV and its
-- quartile segment (rank-based: the original Airflow examples' pd.qcut crashed on tied values), plus the
-- BG/NBD + Gamma-Gamma model's columns (NULL when the model could not be fitted: a check says
-- so). One row per customer with a COMPLETED sale in the 365-day window.
-- The CLV quartile window sorts only the narrow `simple` rows (same inner joins, so the same rows
-- and count); sorting the joined wide rows (names, e-mails) cost three times the whole query.
CREATE TABLE $target
(
    customer_id                  Int64 COMMENT 'The customer (a completed sale in the 365 days before the logical time)',
    customer_name                Nullable(String) COMMENT 'Name in raw_customers',
    email                        Nullable(String) COMMENT 'E-mail in raw_customers',
    signup_date                  Nullable(Date32) COMMENT 'Signup day in raw_customers',
    recency_days                 UInt32 COMMENT 'Whole days from the latest sale to the logical time',
    frequency                    UInt32 COMMENT 'Completed sales in the window',
    monetary_value               Nullable(Decimal(18, 2)) COMMENT 'Their net revenue',
    avg_order_value              Nullable(Decimal(18, 2)) COMMENT 'monetary_value per sale',
    total_items_purchased        Nullable(Int64) COMMENT 'Units bought',
    categories_purchased         UInt32 COMMENT 'Distinct categories bought',
    last_purchase_date           Date32 COMMENT 'Day of the latest sale',
    first_purchase_date          Date32 COMMENT 'Day of the first sale in the window',
    r_score                      UInt8 COMMENT 'Recency quintile, 5 = most recent (ties share a score)',
    f_score                      UInt8 COMMENT 'Frequency quintile, 5 = most sales',
    m_score                      UInt8 COMMENT 'Monetary quintile, 5 = most revenue',
    rfm_score                    UInt16 COMMENT 'r_score, f_score, m_score as three digits',
    rfm_segment                  LowCardinality(String) COMMENT 'The original Airflow examples'' RFM label (Champions, Loyal Customers, ...)',
    behavior_cluster             UInt8 COMMENT 'K-Means cluster number',
    behavior_segment             LowCardinality(String) COMMENT 'The cluster''s label (VIP, Frequent, Active, Dormant, Regular)',
    customer_lifespan_days       UInt32 COMMENT 'Whole days from the first to the latest sale in the window',
    purchase_frequency_per_year  Float64 COMMENT 'frequency per 365 days of lifespan',
    predicted_clv_3y             Nullable(Decimal(18, 2)) COMMENT 'The simple CLV: avg_order_value x purchases per year x 3 (customer_rfm.simple_clv_3y)',
    clv_segment                  LowCardinality(String) COMMENT 'Quartile of predicted_clv_3y: Low, Medium, High or Very High Value',
    model_frequency              UInt32 COMMENT 'BG/NBD input: purchase days after the first, whole history',
    model_recency_days           UInt32 COMMENT 'BG/NBD input: days from the first to the last purchase day',
    model_T_days                 UInt32 COMMENT 'BG/NBD input: days from the first purchase day to the logical date',
    expected_purchases_3y        Nullable(Float64) COMMENT 'BG/NBD expected purchases over 3 years (NULL: no model)',
    probability_alive            Nullable(Float64) COMMENT 'BG/NBD probability the customer is still active (NULL: no model)',
    expected_order_value         Nullable(Float64) COMMENT 'Gamma-Gamma expected order value (NULL: no model)',
    model_clv_3y                 Nullable(Decimal(18, 2)) COMMENT 'BG/NBD + Gamma-Gamma CLV over 3 years, discounted (NULL: no model)',
    segmented_at                 DateTime64(6, 'UTC') COMMENT 'Logical time of the segmentation'
)
ENGINE = MergeTree
ORDER BY customer_id
AS
WITH simple AS
(
    SELECT
        r.customer_id AS customer_id,
        r.customer_lifespan_days AS lifespan,  -- the simple CLV: customer_rfm.sql computes it
        r.purchase_frequency_per_year AS per_year,
        r.simple_clv_3y AS clv_3y,
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
