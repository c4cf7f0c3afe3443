-- Event users by the week they were first seen (weeks start on Monday, UTC; "first seen"
-- within the events' retention, ANALYTICS_EVENTS_TTL_DAYS): of each cohort, how many were active
-- again 1 to 12 weeks later, with ClickHouse's retention() over each user's weeks (arrayReduce:
-- one pass over the events, no join). Events before the logical time only; a week that has not
-- started yet has no row, one still in progress is not complete.
CREATE TABLE $target ENGINE = MergeTree ORDER BY (cohort_week, weeks_since_first) AS
SELECT
    cohort_week,
    toUInt8(weeks_since_first) AS weeks_since_first,
    cohort_users,
    active_users,
    active_users / cohort_users AS retention_rate,
    toDateTime64(cohort_week + 7 * (weeks_since_first + 1), 6, 'UTC') <= {as_of:DateTime64(6, 'UTC')} AS is_complete
FROM (
    SELECT cohort_week, count() AS cohort_users, sumForEach(r) AS active
    FROM (
        SELECT
            arrayMin(weeks) AS cohort_week,
            arrayMap(w -> intDiv(dateDiff('day', cohort_week, w), 7), weeks) AS offsets,
            arrayReduce('retention',
                         arrayMap(o -> o = 0, offsets),
                         arrayMap(o -> o = 1, offsets),
                         arrayMap(o -> o = 2, offsets),
                         arrayMap(o -> o = 3, offsets),
                         arrayMap(o -> o = 4, offsets),
                         arrayMap(o -> o = 5, offsets),
                         arrayMap(o -> o = 6, offsets),
                         arrayMap(o -> o = 7, offsets),
                         arrayMap(o -> o = 8, offsets),
                         arrayMap(o -> o = 9, offsets),
                         arrayMap(o -> o = 10, offsets),
                         arrayMap(o -> o = 11, offsets),
                         arrayMap(o -> o = 12, offsets)) AS r
        FROM (
            SELECT groupUniqArray(toMonday(event_time)) AS weeks
            FROM product_events
            WHERE event_time < {as_of:DateTime64(6, 'UTC')}
            GROUP BY user_id
        )
    )
    GROUP BY cohort_week
)
ARRAY JOIN arrayMap(x -> toUInt64(x), active) AS active_users, range(length(active)) AS weeks_since_first
WHERE toDateTime64(cohort_week + 7 * weeks_since_first, 6, 'UTC') < {as_of:DateTime64(6, 'UTC')}
