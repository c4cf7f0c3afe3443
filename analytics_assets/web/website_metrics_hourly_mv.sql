-- Feeds the hourly states on every insert into the raw table.
CREATE MATERIALIZED VIEW IF NOT EXISTS $table TO $state AS
SELECT
    toStartOfHour(timestamp) AS hour,
    metric_name,
    source_file_id,
    sumState(metric_value) AS total_value,
    avgState(metric_value) AS avg_value,
    maxState(metric_value) AS max_value,
    minState(metric_value) AS min_value,
    countState() AS sample_count
FROM $source
GROUP BY hour, metric_name, source_file_id
