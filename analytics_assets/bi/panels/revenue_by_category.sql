SELECT ifNull(category, '(unknown)') AS category, sum(revenue) AS revenue
FROM dashboard_category_performance
GROUP BY category
ORDER BY revenue DESC
