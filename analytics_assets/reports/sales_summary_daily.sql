-- One row per day of the period, days without sales included.
SELECT
    day AS date,
    ifNull(s.net_revenue, 0) AS net_revenue,
    ifNull(s.orders, 0) AS orders
FROM (SELECT {first_day:Date32} + number AS day
      FROM numbers(toUInt64(dateDiff('day', {first_day:Date32}, {last_day:Date32}) + 1))) AS days
LEFT JOIN (SELECT sale_day, sum(net_amount) AS net_revenue, count() AS orders FROM $filtered GROUP BY sale_day) AS s
    ON s.sale_day = days.day
ORDER BY date
SETTINGS join_use_nulls = 1
