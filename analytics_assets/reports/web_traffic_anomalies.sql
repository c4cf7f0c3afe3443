-- The hours of the period flagged ANOMALY by website_metrics_anomalies.
SELECT hour, metric_name, aggregation, value, baseline_mean, z_score, threshold
FROM website_metrics_anomalies
WHERE status = 'ANOMALY' AND date BETWEEN {first_day:Date32} AND {last_day:Date32}
  AND (empty({metric_name:Array(String)}) OR has({metric_name:Array(String)}, metric_name))
ORDER BY hour, metric_name
