SELECT toDateTime(date) AS time, net_revenue, total_orders AS orders
FROM dashboard_daily_metrics
WHERE $__timeFilter(toDateTime(date))
ORDER BY time
