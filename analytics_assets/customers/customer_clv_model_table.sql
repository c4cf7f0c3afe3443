-- The fitted CLV models, one row per parameter (BG/NBD: r, alpha, a, b; Gamma-Gamma: p, q, gamma).
CREATE TABLE $target
(
    model           LowCardinality(String),
    param           LowCardinality(String),
    value           Float64,
    time_unit       LowCardinality(String),
    log_likelihood  Float64,
    converged       UInt8,
    customers       UInt64,
    iterations      UInt32,
    as_of           DateTime64(6, 'UTC'),
    fitted_at       DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (model, param)
