-- Net revenue, orders and share of revenue by one dimension ($dimension), largest first.
SELECT
    ifNull(toString($dimension), '(unknown)') AS value,
    ifNull(sum(net_amount), 0) AS net_revenue,
    count() AS orders,
    if(sum(sum(net_amount)) OVER () = 0, NULL,
       toDecimal64(ifNull(sum(net_amount), 0) * 100 / sum(sum(net_amount)) OVER (), 2)) AS revenue_share_pct
FROM $filtered
GROUP BY value
ORDER BY net_revenue DESC, value
