-- The months sales_fact must rebuild, and the sales that may land in them: every sale whose
-- version is newer than what the fact holds (new, changed, deleted: tombstones carry the time the
-- delete was found), in the month it is in now and the month it was in, plus every sale already
-- in those months.
INSERT INTO $months
SELECT DISTINCT month FROM
(
    SELECT toYYYYMM(ifNull(toDate32(sale_date), toDate32('1970-01-01'))) AS month
    FROM raw_sales WHERE updated_at > {sales_since:DateTime64(6, 'UTC')}
    UNION ALL
    SELECT toYYYYMM(sale_day) FROM sales_fact
    WHERE sale_id IN (SELECT sale_id FROM raw_sales WHERE updated_at > {sales_since:DateTime64(6, 'UTC')})
);

INSERT INTO $candidates
SELECT sale_id FROM sales_fact WHERE toYYYYMM(sale_day) IN (SELECT month FROM $months)
UNION DISTINCT
SELECT sale_id FROM raw_sales WHERE updated_at > {sales_since:DateTime64(6, 'UTC')};
