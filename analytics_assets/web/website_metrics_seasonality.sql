-- Per metric, as of each day: the weekly profile (day of week x hour of day, mean and median
-- of the hourly values) over the weeks ending with that day. Hourly value: the hour's sum for
-- additive metrics, the mean of its points for gauges.
CREATE TABLE $target ENGINE = MergeTree PARTITION BY date ORDER BY (metric_name, day_of_week, hour_of_day) AS
SELECT
    date,
    metric_name,
    if(has({gauges:Array(String)}, metric_name), 'avg', 'sum') AS aggregation,
    toDayOfWeek(hour) AS day_of_week,
    toHour(hour) AS hour_of_day,
    avg(value) AS mean_value,
    quantileExactInclusive(0.5)(value) AS median_value,
    toUInt32(count()) AS samples
FROM (
    SELECT
        hour,
        metric_name,
        value,
        -- every profile day whose window (the 7 x weeks days ending with it) holds this hour
        arrayJoin(arrayFilter(d -> d BETWEEN {first_day:Date} AND {last_day:Date},
                              arrayMap(i -> toDate(hour) + i, range(7 * {weeks:UInt32})))) AS date
    FROM (
        SELECT hour, metric_name, if(has({gauges:Array(String)}, metric_name), avg_value, total_value) AS value
        FROM website_metrics_hourly
        WHERE hour >= toDateTime({first_day:Date} - 7 * {weeks:UInt32} + 1, 'UTC') AND hour < {until:DateTime('UTC')}
    )
)
WHERE hour < toDateTime(date + 1, 'UTC')
GROUP BY date, metric_name, day_of_week, hour_of_day
-- a backfill builds many days (partitions) in one insert
SETTINGS throw_on_max_partitions_per_insert_block = 0
