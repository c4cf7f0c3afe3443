-- Delivery log: one row per report, period and recipient; the latest state wins.
-- status: sending (handed to the server, not yet confirmed) -> sent | failed.
CREATE TABLE IF NOT EXISTS $table (
    report String,
    period String,
    recipient String,
    file_name String,
    file_sha256 String,
    message_id String,
    status LowCardinality(String),
    attempts UInt32,
    error String,
    updated_at DateTime64(6, 'UTC')
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (report, period, recipient)
