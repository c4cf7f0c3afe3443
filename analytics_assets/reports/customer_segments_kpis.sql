-- Headline numbers: customers segmented at the period's end, their revenue in the period, their
-- average 3-year CLV, how many changed segment since the period before, how many are Champions.
SELECT
    countIf(segment IS NOT NULL) AS customers,
    sum(period_revenue) AS period_revenue,
    toDecimal64(round(toDecimal128(sum(clv_3y), 10) / nullIf(count(clv_3y), 0), 2), 2) AS avg_clv_3y,
    countIf(ifNull(segment, '') != ifNull(previous_segment, '')) AS movers,
    countIf(segment = 'Champions') AS champions
FROM $customers
SETTINGS join_use_nulls = 1
