-- Apply the changed sales' current rows ($current, built by sales_fact.sql) to sales_fact.
-- $existing holds (sale_id, sale_day) of the changed sales the fact has now. Each statement is
-- atomic for readers (a patch part, an insert); the marts are rebuilt after all of them.

-- Gone at the source, or moved to another day (sale_day is in the sorting key, which an UPDATE
-- cannot change): delete, to insert again below. Done as a patch part, not a mutation.
DELETE FROM sales_fact
WHERE sale_id IN (SELECT sale_id FROM $existing)
  AND (sale_id, sale_day) NOT IN (SELECT sale_id, sale_day FROM $current)
SETTINGS lightweight_delete_mode = 'lightweight_update';

-- Changed in place: one lightweight UPDATE.
CREATE TABLE $current_join ENGINE = Join(ANY, LEFT, sale_id) AS SELECT * FROM $current;

UPDATE sales_fact SET
    sale_date = joinGet({current_join:String}, 'sale_date', sale_id),
    customer_id = joinGet({current_join:String}, 'customer_id', sale_id),
    product_id = joinGet({current_join:String}, 'product_id', sale_id),
    quantity = joinGet({current_join:String}, 'quantity', sale_id),
    unit_price = joinGet({current_join:String}, 'unit_price', sale_id),
    total_amount = joinGet({current_join:String}, 'total_amount', sale_id),
    discount_amount = joinGet({current_join:String}, 'discount_amount', sale_id),
    tax_amount = joinGet({current_join:String}, 'tax_amount', sale_id),
    net_amount = joinGet({current_join:String}, 'net_amount', sale_id),
    status = joinGet({current_join:String}, 'status', sale_id),
    customer_found = joinGet({current_join:String}, 'customer_found', sale_id),
    customer_name = joinGet({current_join:String}, 'customer_name', sale_id),
    customer_segment = joinGet({current_join:String}, 'customer_segment', sale_id),
    region = joinGet({current_join:String}, 'region', sale_id),
    country = joinGet({current_join:String}, 'country', sale_id),
    state = joinGet({current_join:String}, 'state', sale_id),
    product_found = joinGet({current_join:String}, 'product_found', sale_id),
    product_name = joinGet({current_join:String}, 'product_name', sale_id),
    category = joinGet({current_join:String}, 'category', sale_id),
    subcategory = joinGet({current_join:String}, 'subcategory', sale_id),
    updated_at = joinGet({current_join:String}, 'updated_at', sale_id),
    customer_updated_at = joinGet({current_join:String}, 'customer_updated_at', sale_id),
    product_updated_at = joinGet({current_join:String}, 'product_updated_at', sale_id),
    anomalies = joinGet({current_join:String}, 'anomalies', sale_id)
WHERE (sale_id, sale_day) IN (SELECT sale_id, sale_day FROM $current);

-- New sales, and the moved ones deleted above.
INSERT INTO sales_fact
SELECT * FROM $current WHERE (sale_id, sale_day) NOT IN (SELECT sale_id, sale_day FROM $existing);
