SELECT toDateTime(date) AS time, current_revenue, previous_revenue
FROM dashboard_yoy_comparison
WHERE $__timeFilter(toDateTime(date))
ORDER BY time
