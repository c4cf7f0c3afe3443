-- Each customer's whole purchase history up to the logical time, as the BG/NBD and Gamma-Gamma
-- models define it (time unit: days): frequency = distinct purchase days after the first,
-- recency = days from the first to the last purchase day, T = days from the first purchase day
-- to the logical date, monetary_value = mean value of the repeat purchase days (first excluded).
SELECT
    customer_id,
    toUInt32(length(days) - 1) AS frequency,
    toUInt32(dateDiff('day', days[1], days[-1])) AS recency,
    toUInt32(dateDiff('day', days[1], toDate32({as_of:DateTime64(6, 'UTC')}))) AS T,
    if(length(days) > 1, arraySum(arraySlice(day_values, 2)) / (length(days) - 1), 0) AS monetary_value
FROM
(
    SELECT
        customer_id,
        arrayMap(t -> t.1, arraySort(groupArray((day, value)))) AS days,
        arrayMap(t -> t.2, arraySort(groupArray((day, value)))) AS day_values
    FROM
    (
        SELECT customer_id, sale_day AS day, toFloat64(ifNull(sum(net_amount), 0)) AS value
        FROM sales_fact
        WHERE status = 'COMPLETED' AND customer_found AND sale_date < {as_of:DateTime64(6, 'UTC')}
        GROUP BY customer_id, sale_day
    )
    GROUP BY customer_id
)
ORDER BY customer_id
