-- The fitted CLV models, one row per parameter (BG/NBD: r, alpha, a, b; Gamma-Gamma: p, q, gamma).
CREATE TABLE $target
(
    model           LowCardinality(String) COMMENT 'bg_nbd or gamma_gamma',
    param           LowCardinality(String) COMMENT 'Parameter name',
    value           Float64 COMMENT 'Fitted value',
    time_unit       LowCardinality(String) COMMENT 'Unit of time (day)',
    log_likelihood  Float64 COMMENT 'Log-likelihood of the fit',
    converged       UInt8 COMMENT '1 if the optimizer converged',
    customers       UInt64 COMMENT 'Customers fitted on',
    iterations      UInt32 COMMENT 'Optimizer iterations',
    as_of           DateTime64(6, 'UTC') COMMENT 'Logical time of the fit',
    fitted_at       DateTime64(6, 'UTC') COMMENT 'When the fit ran (UTC)'
)
ENGINE = MergeTree
ORDER BY (model, param)
