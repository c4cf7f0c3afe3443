SELECT hour AS time, total_value AS pageviews
FROM website_metrics_hourly
WHERE metric_name = 'pageviews' AND $__timeFilter(hour)
ORDER BY time
