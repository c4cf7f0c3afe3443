-- Headline numbers of the period (net revenue, orders, customers, units, average order value).
SELECT
    ifNull(sum(net_amount), 0) AS net_revenue,
    count() AS orders,
    uniqExact(customer_id) AS customers,
    ifNull(sum(quantity), 0) AS units,
    if(count() = 0, NULL, toDecimal64(ifNull(sum(net_amount), 0) / count(), 2)) AS average_order_value
FROM $filtered
