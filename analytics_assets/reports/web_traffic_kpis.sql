-- Per metric: its value over the period and over the previous period (additive metrics summed,
-- gauges averaged over their points), from the hourly rollup.
SELECT
    metric_name,
    if(has({gauges:Array(String)}, metric_name), sumIf(total_value, now) / nullIf(sumIf(sample_count, now), 0),
       sumIf(total_value, now)) AS this_period,
    if(has({gauges:Array(String)}, metric_name), sumIf(total_value, before) / nullIf(sumIf(sample_count, before), 0),
       sumIf(total_value, before)) AS previous_period
FROM (
    SELECT metric_name, total_value, sample_count,
           hour >= toDateTime({first_day:Date32}, 'UTC') AND hour < toDateTime({last_day:Date32} + 1, 'UTC') AS now,
           hour >= toDateTime({prev_first:Date32}, 'UTC') AND hour < toDateTime({prev_last:Date32} + 1, 'UTC') AS before
    FROM website_metrics_hourly
    WHERE (empty({metric_name:Array(String)}) OR has({metric_name:Array(String)}, metric_name))
      AND hour >= toDateTime(least({first_day:Date32}, {prev_first:Date32}), 'UTC')
      AND hour < toDateTime(greatest({last_day:Date32}, {prev_last:Date32}) + 1, 'UTC')
)
GROUP BY metric_name
HAVING countIf(now) > 0 OR countIf(before) > 0
ORDER BY has({gauges:Array(String)}, metric_name), metric_name
