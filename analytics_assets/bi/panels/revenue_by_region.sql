SELECT ifNull(region, '(unknown)') AS region, sum(revenue) AS revenue
FROM dashboard_regional_breakdown
GROUP BY region
ORDER BY revenue DESC
