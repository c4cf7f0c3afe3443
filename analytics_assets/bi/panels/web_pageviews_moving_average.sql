SELECT toDateTime(date) AS time, value AS pageviews, ma_7day
FROM website_metrics_moving_average
WHERE metric_name = 'pageviews' AND $__timeFilter(toDateTime(date))
ORDER BY time
