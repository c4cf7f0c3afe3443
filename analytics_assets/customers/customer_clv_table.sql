-- Per-customer model inputs (whole history to the logical time, in days) and outputs over the
-- horizon. Outputs are NULL when a model could not be fitted (the model's check says why).
CREATE TABLE $target
(
    customer_id           Int64,
    frequency             UInt32,
    recency               UInt32,
    T                     UInt32,
    monetary_value        Float64,
    expected_purchases    Nullable(Float64),
    probability_alive     Nullable(Float64),
    expected_order_value  Nullable(Float64),
    clv                   Nullable(Float64),
    as_of                 DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY customer_id
