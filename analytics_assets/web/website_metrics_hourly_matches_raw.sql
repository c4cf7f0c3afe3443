-- Hours in [from, to) where the rollup and the raw points disagree: count, min, max exactly,
-- the total within floating-point summation error. Returns (mismatches, examples).
SELECT count(), toString(groupArray(5)((hour, metric_name)))
FROM (
    SELECT hour, metric_name, total_value, sample_count, max_value, min_value
    FROM website_metrics_hourly
    WHERE hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}
) AS rollup
FULL OUTER JOIN (
    SELECT toStartOfHour(timestamp) AS hour, metric_name, sum(metric_value) AS total_value,
           count() AS sample_count, max(metric_value) AS max_value, min(metric_value) AS min_value
    FROM website_metrics
    WHERE timestamp >= {from:DateTime('UTC')} AND timestamp < {to:DateTime('UTC')}
    GROUP BY hour, metric_name
) AS raw USING (hour, metric_name)
WHERE rollup.sample_count != raw.sample_count
   OR abs(rollup.total_value - raw.total_value) > 1e-9 * greatest(1, abs(raw.total_value))
   OR rollup.max_value != raw.max_value
   OR rollup.min_value != raw.min_value
