-- Per metric and hour: a z-score against a seasonality-aware baseline. The expected value is
-- the mean of the same hour of the week over the previous weeks (Monday 9:00 against earlier
-- Mondays 9:00). The spread is pooled over the seven days of the week at that hour of day
-- (7 x weeks residuals around their own hour-of-week means), widened for the error of the
-- mean: a handful of past values alone would give a noisy spread and many false alarms.
-- An additive metric with no points in an hour inside its observed span counts 0 (an outage
-- is an anomaly, not a gap). A flat baseline never divides by zero: any departure from it is
-- an ANOMALY with a NULL z-score. Fewer than min_samples past weeks: NO_BASELINE.
CREATE TABLE $target ENGINE = MergeTree PARTITION BY date ORDER BY (metric_name, hour) AS
WITH
    hourly AS (
        SELECT hour, metric_name, if(has({gauges:Array(String)}, metric_name), avg_value, total_value) AS value
        FROM website_metrics_hourly
        WHERE hour >= toDateTime({first_day:Date} - 7 * {weeks:UInt32}, 'UTC') AND hour < {until:DateTime('UTC')}
    ),
    targets AS (
        SELECT metric_name, hour
        FROM (SELECT metric_name, min(hour) AS first_hour, max(hour) AS last_hour FROM hourly GROUP BY metric_name)
        ARRAY JOIN arrayMap(i -> toDateTime({first_day:Date}, 'UTC') + toIntervalHour(i),
                            range(toUInt32(greatest(0, dateDiff('hour', toDateTime({first_day:Date}, 'UTC'), {until:DateTime('UTC')}))))) AS hour
        WHERE hour BETWEEN first_hour AND last_hour
    ),
    -- each past hour, once for every day whose baseline (the 7 x weeks days before it) holds it
    past AS (
        SELECT day, metric_name, toDayOfWeek(hour) AS day_of_week, toHour(hour) AS hour_of_day, value
        FROM hourly
        ARRAY JOIN arrayFilter(d -> d BETWEEN {first_day:Date} AND {last_day:Date},
                               arrayMap(i -> toDate(hour) + i, range(1, 7 * {weeks:UInt32} + 1))) AS day
    ),
    slots AS (
        SELECT day, metric_name, day_of_week, hour_of_day, avg(value) AS mean, count() AS samples
        FROM past GROUP BY day, metric_name, day_of_week, hour_of_day
    ),
    spread AS (
        SELECT p.day AS day, p.metric_name AS metric_name, p.hour_of_day AS hour_of_day,
               sqrt(sum(pow(p.value - s.mean, 2)) / greatest(1, count() - uniqExact(p.day_of_week))) AS stddev
        FROM past AS p
        INNER JOIN slots AS s USING (day, metric_name, day_of_week, hour_of_day)
        GROUP BY p.day, p.metric_name, p.hour_of_day
    ),
    observed AS (
        SELECT t.metric_name AS metric_name, t.hour AS hour, toDate(t.hour) AS day, toDayOfWeek(t.hour) AS day_of_week,
               toHour(t.hour) AS hour_of_day, h.value AS value, h.present AS present
        FROM targets AS t
        LEFT JOIN (SELECT *, 1 AS present FROM hourly) AS h ON h.metric_name = t.metric_name AND h.hour = t.hour
    )
SELECT
    day AS date,
    hour,
    metric_name,
    if(is_gauge, 'avg', 'sum') AS aggregation,
    if(o.present = 1, o.value, 0) AS value,
    if(s.samples = 0, NULL, s.mean) AS baseline_mean,
    if(s.samples < {min_samples:UInt32}, NULL, sp.stddev * sqrt(1 + 1 / s.samples)) AS baseline_stddev,
    toUInt32(s.samples) AS baseline_samples,
    s.samples >= {min_samples:UInt32} AND sp.stddev > 1e-9 * greatest(1, abs(s.mean)) AS varies,
    if(varies, (value - s.mean) / baseline_stddev, NULL) AS z_score,
    {threshold:Float64} AS threshold,
    multiIf(s.samples < {min_samples:UInt32}, 'NO_BASELINE',
            varies, if(abs(z_score) > threshold, 'ANOMALY', 'NORMAL'),
            abs(value - s.mean) <= 1e-9 * greatest(1, abs(s.mean)), 'NORMAL',
            'ANOMALY') AS status
FROM (SELECT *, has({gauges:Array(String)}, metric_name) AS is_gauge FROM observed) AS o
LEFT JOIN slots AS s USING (day, metric_name, day_of_week, hour_of_day)
LEFT JOIN spread AS sp USING (day, metric_name, hour_of_day)
WHERE o.present = 1 OR NOT is_gauge
-- a backfill builds many days (partitions) in one insert
SETTINGS throw_on_max_partitions_per_insert_block = 0
