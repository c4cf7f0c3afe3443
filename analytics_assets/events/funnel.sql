-- Per day: of the users whose funnel started that day (a first step in the day, UTC), how many
-- reached each step within the window (windowFunnel: each step at or after the one before, the
-- last at most window_ms after the first; events of the same millisecond count in step order:
-- 'strict_increase' would lose a step that ties with a repeated first step). Every funnel shares
-- this file: the steps are a parameter; the conditions are one per step, made by the code
-- from step positions (`step_index = 2`, ...; the first also holds the day). Events from
-- [first_day, until) only: until is the logical time, or the end of the last day plus the
-- window, whichever comes first.
CREATE TABLE $target ENGINE = MergeTree PARTITION BY date ORDER BY (date, step) AS
SELECT
    date,
    toUInt8(step) AS step,
    {steps:Array(String)}[step] AS step_name,
    users,
    users / reached[1] AS conversion_rate,
    if(step = 1, 1, users / nullIf(reached[step - 1], 0)) AS step_conversion_rate,
    toDateTime64(date + 1, 3, 'UTC') + toIntervalMillisecond({window_ms:UInt64}) <= {as_of:DateTime64(6, 'UTC')}
        AS is_complete
FROM (
    SELECT day AS date, sumForEach(arrayMap(k -> toUInt64(level >= k), range(1, length({steps:Array(String)}) + 1)))
        AS reached
    FROM (
        SELECT
            day,
            user_id,
            windowFunnel({window_ms:UInt64})(
                t,
                $conditions
            ) AS level
        FROM (
            SELECT event_time, toUInt64(toUnixTimestamp64Milli(event_time)) AS t, user_id,
                   indexOf({steps:Array(String)}, event_name) AS step_index
            FROM product_events
            WHERE event_name IN {steps:Array(String)}
              AND event_time >= toDateTime64({first_day:Date}, 3, 'UTC') AND event_time < {until:DateTime64(3, 'UTC')}
              AND arrayAll((key, values) -> has(values, properties[key]), {filter_keys:Array(String)},
                           {filter_values:Array(Array(String))})
        )
        -- an event counts for its own day and for the days whose funnels its window reaches back to
        ARRAY JOIN arrayFilter(d -> d BETWEEN {first_day:Date} AND {last_day:Date},
                               arrayMap(i -> toDate(event_time) - i,
                                        range(toUInt32(dateDiff('day', toDate(event_time - toIntervalMillisecond({window_ms:UInt64})),
                                                                toDate(event_time))) + 1))) AS day
        GROUP BY day, user_id
        HAVING level > 0
    )
    GROUP BY day
)
ARRAY JOIN reached AS users, arrayEnumerate(reached) AS step
-- a backfill builds many days (partitions) in one insert
SETTINGS throw_on_max_partitions_per_insert_block = 0
