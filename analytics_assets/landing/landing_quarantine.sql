-- Rows a landing file could not load, with where they were and why.
CREATE TABLE IF NOT EXISTS $table (
    file_name String,
    source_file_id UInt64,
    line_no UInt64,
    reason String,
    line String,
    quarantined_at DateTime64(6, 'UTC')
) ENGINE = MergeTree
ORDER BY (file_name, line_no)
