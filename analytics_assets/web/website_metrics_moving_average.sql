-- Per metric and day: the day's value and its 7-day moving average. The window is 7 calendar
-- days (the original Airflow examples' ROWS BETWEEN 6 PRECEDING spans 7 rows, i.e. more days when days are
-- missing); days_in_window says how many of them had data. Additive metrics: the day's sum;
-- gauges (rates, durations): the mean of the day's points.
CREATE TABLE $target ENGINE = MergeTree PARTITION BY date ORDER BY (metric_name, date) AS
SELECT
    date,
    metric_name,
    if(has({gauges:Array(String)}, metric_name), 'avg', 'sum') AS aggregation,
    value,
    ma_7day,
    days_in_window,
    toDateTime(date + 1, 'UTC') <= {until:DateTime('UTC')} AS is_complete
FROM (
    SELECT
        date,
        metric_name,
        value,
        avg(value) OVER w AS ma_7day,
        toUInt8(count() OVER w) AS days_in_window
    FROM (
        SELECT
            toDate(hour) AS date,
            metric_name,
            if(has({gauges:Array(String)}, metric_name), sum(total_value) / sum(sample_count), sum(total_value)) AS value
        FROM website_metrics_hourly
        WHERE hour >= toDateTime({first_day:Date} - 6, 'UTC') AND hour < {until:DateTime('UTC')}
        GROUP BY date, metric_name
    )
    WINDOW w AS (PARTITION BY metric_name ORDER BY toUInt32(date) RANGE BETWEEN 6 PRECEDING AND CURRENT ROW)
)
WHERE date BETWEEN {first_day:Date} AND {last_day:Date}
-- a backfill builds many days (partitions) in one insert
SETTINGS throw_on_max_partitions_per_insert_block = 0
