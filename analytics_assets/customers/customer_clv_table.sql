-- Per-customer model inputs (whole history to the logical time, in days) and outputs over the
-- horizon. Outputs are NULL when a model could not be fitted (the model's check says why).
CREATE TABLE $target
(
    customer_id           Int64 COMMENT 'The customer',
    frequency             UInt32 COMMENT 'Purchase days after the first (whole history)',
    recency               UInt32 COMMENT 'Days from the first to the last purchase day',
    T                     UInt32 COMMENT 'Days from the first purchase day to the logical date',
    monetary_value        Float64 COMMENT 'Mean value of the repeat purchase days',
    expected_purchases    Nullable(Float64) COMMENT 'BG/NBD expected purchases over the horizon',
    probability_alive     Nullable(Float64) COMMENT 'BG/NBD probability the customer is still active',
    expected_order_value  Nullable(Float64) COMMENT 'Gamma-Gamma expected order value',
    clv                   Nullable(Float64) COMMENT 'Discounted CLV over the horizon',
    as_of                 DateTime64(6, 'UTC') COMMENT 'Logical time of the fit'
)
ENGINE = MergeTree
ORDER BY customer_id
