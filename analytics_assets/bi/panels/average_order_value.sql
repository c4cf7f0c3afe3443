SELECT toDateTime(date) AS time, avg_order_value
FROM dashboard_daily_metrics
WHERE $__timeFilter(toDateTime(date))
ORDER BY time
