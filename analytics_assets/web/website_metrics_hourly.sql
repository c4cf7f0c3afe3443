-- The original Airflow examples' `website_metrics_hourly` columns as finished numbers, whatever the merge state.
CREATE VIEW IF NOT EXISTS $table AS
SELECT
    hour,
    metric_name,
    sumMerge(total_value) AS total_value,
    avgMerge(avg_value) AS avg_value,
    maxMerge(max_value) AS max_value,
    minMerge(min_value) AS min_value,
    countMerge(sample_count) AS sample_count
FROM $state
GROUP BY hour, metric_name
