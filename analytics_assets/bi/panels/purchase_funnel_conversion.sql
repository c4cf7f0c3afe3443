SELECT toDateTime(date) AS time, argMax(conversion_rate, step) AS conversion_rate
FROM funnel_purchase
WHERE $__timeFilter(toDateTime(date))
GROUP BY date
ORDER BY time
