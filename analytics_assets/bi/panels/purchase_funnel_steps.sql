SELECT step_name, sum(users) AS users
FROM funnel_purchase
WHERE $__timeFilter(toDateTime(date))
GROUP BY step, step_name
ORDER BY step
