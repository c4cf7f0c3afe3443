-- The touched customers' completed sales as customer_360_sales holds them now: the newest
-- version of each, unless it takes the sale out. What FINAL gives, without merging the hourly
-- parts into the ranges of the big one (a sort of these rows only).
CREATE TABLE $target ENGINE = Memory AS
SELECT * FROM (
    SELECT * FROM customer_360_sales WHERE customer_id IN (SELECT customer_id FROM $touched)
    ORDER BY version DESC
    LIMIT 1 BY customer_id, sale_id
)
WHERE NOT deleted
