-- Customers and products that arrived in ClickHouse since the last refresh are patched into
-- sales_fact in place, with lightweight UPDATEs (each one patch part, visible atomically; no
-- partition rewrite). A customer who moves region changes every month of their history:
-- rebuilding all those months for a handful of moves would cost a full rebuild. A deleted one
-- (tombstone) becomes "not found". Before each UPDATE, the days of the sales whose attributes
-- that sales_fact_daily depends on change (found, segment, region; found, category) go to
-- $touched_days: those days are recomputed (a renamed customer changes no day).
CREATE TABLE $customers_join
(
    customer_id Int64, found UInt8, customer_name Nullable(String), customer_segment Nullable(String),
    region Nullable(String), country Nullable(String), state Nullable(String),
    updated_at Nullable(DateTime64(6, 'UTC'))
)
ENGINE = Join(ANY, LEFT, customer_id);

INSERT INTO $customers_join
SELECT k.customer_id, c.customer_id IS NOT NULL, c.customer_name, c.customer_segment, c.region, c.country,
       c.state, c.updated_at
FROM (SELECT DISTINCT customer_id FROM raw_customers WHERE _synced_at > {customers_since:DateTime64(6, 'UTC')}) AS k
LEFT JOIN (
    SELECT * FROM raw_customers FINAL
    WHERE customer_id IN (SELECT customer_id FROM raw_customers WHERE _synced_at > {customers_since:DateTime64(6, 'UTC')})
) AS c ON k.customer_id = c.customer_id
SETTINGS join_use_nulls = 1;

INSERT INTO $touched_days
SELECT DISTINCT sale_day FROM sales_fact
WHERE customer_id IN (SELECT customer_id FROM $customers_join)
  AND toString((customer_found, customer_segment, region)) != toString((
      joinGet({customers_join:String}, 'found', customer_id),
      joinGet({customers_join:String}, 'customer_segment', customer_id),
      joinGet({customers_join:String}, 'region', customer_id)));

UPDATE sales_fact SET
    customer_found = joinGet({customers_join:String}, 'found', customer_id),
    customer_name = joinGet({customers_join:String}, 'customer_name', customer_id),
    customer_segment = joinGet({customers_join:String}, 'customer_segment', customer_id),
    region = joinGet({customers_join:String}, 'region', customer_id),
    country = joinGet({customers_join:String}, 'country', customer_id),
    state = joinGet({customers_join:String}, 'state', customer_id),
    customer_updated_at = joinGet({customers_join:String}, 'updated_at', customer_id)
WHERE customer_id IN (SELECT customer_id FROM $customers_join);

CREATE TABLE $products_join
(
    product_id Int64, found UInt8, product_name Nullable(String), category Nullable(String),
    subcategory Nullable(String), updated_at Nullable(DateTime64(6, 'UTC'))
)
ENGINE = Join(ANY, LEFT, product_id);

INSERT INTO $products_join
SELECT k.product_id, p.product_id IS NOT NULL, p.product_name, p.category, p.subcategory, p.updated_at
FROM (SELECT DISTINCT product_id FROM raw_products WHERE _synced_at > {products_since:DateTime64(6, 'UTC')}) AS k
LEFT JOIN (
    SELECT * FROM raw_products FINAL
    WHERE product_id IN (SELECT product_id FROM raw_products WHERE _synced_at > {products_since:DateTime64(6, 'UTC')})
) AS p ON k.product_id = p.product_id
SETTINGS join_use_nulls = 1;

INSERT INTO $touched_days
SELECT DISTINCT sale_day FROM sales_fact
WHERE product_id IN (SELECT product_id FROM $products_join)
  AND toString((product_found, category)) != toString((
      joinGet({products_join:String}, 'found', product_id),
      joinGet({products_join:String}, 'category', product_id)));

UPDATE sales_fact SET
    product_found = joinGet({products_join:String}, 'found', product_id),
    product_name = joinGet({products_join:String}, 'product_name', product_id),
    category = joinGet({products_join:String}, 'category', product_id),
    subcategory = joinGet({products_join:String}, 'subcategory', product_id),
    product_updated_at = joinGet({products_join:String}, 'updated_at', product_id)
WHERE product_id IN (SELECT product_id FROM $products_join);
