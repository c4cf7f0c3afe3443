SELECT hour AS time, metric_name, value, baseline_mean, z_score
FROM website_metrics_anomalies
WHERE status = 'ANOMALY' AND $__timeFilter(hour)
ORDER BY time DESC
