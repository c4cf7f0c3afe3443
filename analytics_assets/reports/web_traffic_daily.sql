-- Per day of the period and metric: the day's value (additive metrics summed, gauges averaged).
SELECT
    toDate32(hour) AS date,
    metric_name,
    if(has({gauges:Array(String)}, metric_name), sum(total_value) / nullIf(sum(sample_count), 0), sum(total_value)) AS value
FROM website_metrics_hourly
WHERE (empty({metric_name:Array(String)}) OR has({metric_name:Array(String)}, metric_name))
  AND hour >= toDateTime({first_day:Date32}, 'UTC') AND hour < toDateTime({last_day:Date32} + 1, 'UTC')
GROUP BY date, metric_name
ORDER BY date, metric_name
