-- Per RFM segment: customers at the period's end and at the end of the period before, the
-- period's revenue, the average and total 3-year CLV.
SELECT
    coalesce(c.seg, p.seg) AS segment,
    ifNull(c.n, 0) AS customers,
    ifNull(p.n, 0) AS previous_customers,
    toInt64(ifNull(c.n, 0)) - toInt64(ifNull(p.n, 0)) AS change,
    ifNull(c.revenue, 0) AS period_revenue,
    c.avg_clv AS avg_clv_3y,
    ifNull(c.total_clv, 0) AS total_clv_3y
FROM (
    SELECT segment AS seg, count() AS n, sum(period_revenue) AS revenue,
           toDecimal64(round(toDecimal128(sum(clv_3y), 10) / nullIf(count(clv_3y), 0), 2), 2) AS avg_clv,
           sum(clv_3y) AS total_clv
    FROM $customers WHERE segment IS NOT NULL GROUP BY seg
) AS c
FULL OUTER JOIN (
    SELECT previous_segment AS seg, count() AS n FROM $customers WHERE previous_segment IS NOT NULL GROUP BY seg
) AS p ON p.seg = c.seg
ORDER BY customers DESC, segment
SETTINGS join_use_nulls = 1
