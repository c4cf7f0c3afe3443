-- A feed's landing-file registry: one row per file content (sha256), its latest state wins.
-- status: loading (published rows may be partial) -> loaded | rejected.
CREATE TABLE IF NOT EXISTS $table (
    sha256 String,
    file_name String,
    file_size UInt64,
    source_file_id UInt64,
    status LowCardinality(String),
    rows_loaded UInt64,
    rows_quarantined UInt64,
    min_timestamp Nullable(DateTime('UTC')),
    max_timestamp Nullable(DateTime('UTC')),
    detail String,
    run_id String,
    updated_at DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY sha256
