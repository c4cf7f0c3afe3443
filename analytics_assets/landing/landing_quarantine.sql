-- Rows a landing file could not load, with where they were and why. `line` is cut at
-- ANALYTICS_LANDING_QUARANTINE_MAX_LINE_BYTES (`line_bytes` is its whole length), and a configured
-- secret in it or in `reason` is masked as *** (`secret_masked` = 1).
CREATE TABLE IF NOT EXISTS $table (
    file_name String,
    source_file_id UInt64,
    line_no UInt64,
    reason String,
    line String,
    line_bytes UInt64,
    secret_masked UInt8,
    quarantined_at DateTime64(6, 'UTC')
) ENGINE = MergeTree
ORDER BY (file_name, line_no);
-- A quarantine created before the cap and the masking gets their columns.
ALTER TABLE $table ADD COLUMN IF NOT EXISTS line_bytes UInt64 AFTER line,
    ADD COLUMN IF NOT EXISTS secret_masked UInt8 AFTER line_bytes;
