-- Event users by the week they were first seen (weeks start on Monday, UTC; "first seen"
-- within the events' retention, ANALYTICS_EVENTS_TTL_DAYS): of each cohort, how many were active
-- again 1 to 12 weeks later, with ClickHouse's retention(). Events before the logical time only;
-- a week that has not started yet has no row, one still in progress is not complete.
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
        SELECT user_id, any(cohort_week) AS cohort_week, retention(
            weeks_since_first = 0,
            weeks_since_first = 1,
            weeks_since_first = 2,
            weeks_since_first = 3,
            weeks_since_first = 4,
            weeks_since_first = 5,
            weeks_since_first = 6,
            weeks_since_first = 7,
            weeks_since_first = 8,
            weeks_since_first = 9,
            weeks_since_first = 10,
            weeks_since_first = 11,
            weeks_since_first = 12
        ) AS r
        FROM (
            SELECT user_id, week, min(week) OVER (PARTITION BY user_id) AS cohort_week,
                   intDiv(dateDiff('day', cohort_week, week), 7) AS weeks_since_first
            FROM (
                SELECT DISTINCT user_id, toMonday(event_time) AS week
                FROM product_events
                WHERE event_time < {as_of:DateTime64(6, 'UTC')}
            )
        )
        GROUP BY user_id
    )
    GROUP BY cohort_week
)
ARRAY JOIN arrayMap(x -> toUInt64(x), active) AS active_users, range(length(active)) AS weeks_since_first
WHERE toDateTime64(cohort_week + 7 * weeks_since_first, 6, 'UTC') < {as_of:DateTime64(6, 'UTC')}
