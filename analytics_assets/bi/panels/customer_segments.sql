SELECT rfm_segment, customer_count, total_revenue, avg_model_clv_3y
FROM customer_segment_summary
ORDER BY total_revenue DESC
