-- Per metric and day: the value against the same calendar day a year earlier (29 February
-- against 28 February). A day still in progress is compared with the same hours of last
-- year's day, not with the whole day. Growth is NULL when last year's value is 0 or missing.
CREATE TABLE $target ENGINE = MergeTree PARTITION BY date ORDER BY (metric_name, date) AS
WITH
    current AS (
        SELECT
            toDate(hour) AS date,
            metric_name,
            sum(total_value) AS total,
            sum(sample_count) AS samples,
            subtractYears(date, 1) AS previous_date,
            least(24, dateDiff('hour', toDateTime(date, 'UTC'), {until:DateTime('UTC')})) AS covered_hours
        FROM website_metrics_hourly
        WHERE hour >= toDateTime({first_day:Date}, 'UTC') AND hour < {until:DateTime('UTC')}
        GROUP BY date, metric_name
    ),
    previous AS (
        SELECT c.date AS date, c.metric_name AS metric_name, sum(h.total_value) AS total, sum(h.sample_count) AS samples
        FROM current AS c
        INNER JOIN (
            SELECT toDate(hour) AS day, toHour(hour) AS hour_of_day, metric_name, total_value, sample_count
            FROM website_metrics_hourly
            WHERE hour >= toDateTime(subtractYears({first_day:Date}, 1), 'UTC')
              AND hour < toDateTime(subtractYears({last_day:Date}, 1) + 1, 'UTC')
        ) AS h ON h.metric_name = c.metric_name AND h.day = c.previous_date
        WHERE h.hour_of_day < c.covered_hours
        GROUP BY c.date, c.metric_name
    )
SELECT
    date,
    metric_name,
    if(is_gauge, 'avg', 'sum') AS aggregation,
    previous_date,
    if(is_gauge, c.total / c.samples, c.total) AS current_value,
    if(p.samples = 0, NULL, if(is_gauge, p.total / p.samples, p.total)) AS previous_value,
    if(previous_value = 0, NULL, (current_value - previous_value) / abs(previous_value) * 100) AS yoy_growth_pct,
    covered_hours = 24 AS is_complete
FROM (SELECT *, has({gauges:Array(String)}, metric_name) AS is_gauge FROM current) AS c
LEFT JOIN previous AS p USING (date, metric_name)
WHERE date BETWEEN {first_day:Date} AND {last_day:Date}
-- a backfill builds many days (partitions) in one insert
SETTINGS throw_on_max_partitions_per_insert_block = 0
