-- The six RFM features K-Means clusters on, per customer of customer_rfm, as Float64 (NULL stays
-- NULL: NaN in numpy). ClickHouse's Decimal -> Float64 gives the nearest double, as Python's
-- float(Decimal) did, without a Python object per value.
SELECT
    customer_id,
    toFloat64(recency_days) AS recency_days,
    toFloat64(frequency) AS frequency,
    toFloat64(monetary_value) AS monetary_value,
    toFloat64(avg_order_value) AS avg_order_value,
    toFloat64(total_items_purchased) AS total_items_purchased,
    toFloat64(categories_purchased) AS categories_purchased
FROM customer_rfm
ORDER BY customer_id
