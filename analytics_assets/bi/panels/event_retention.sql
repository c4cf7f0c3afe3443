SELECT cohort_week, weeks_since_first, cohort_users, active_users, round(retention_rate, 3) AS retention_rate
FROM product_event_retention
WHERE $__timeFilter(toDateTime(cohort_week))
ORDER BY cohort_week, weeks_since_first
