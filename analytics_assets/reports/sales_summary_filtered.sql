-- The completed sales of one period that pass the report's filters (an empty filter passes all).
SELECT *
FROM sales_fact
WHERE {{ sales/completed_sale }}
  AND sale_day BETWEEN {first_day:Date32} AND {last_day:Date32}
  AND (empty({region:Array(String)}) OR has({region:Array(String)}, region))
  AND (empty({customer_segment:Array(String)}) OR has({customer_segment:Array(String)}, customer_segment))
  AND (empty({category:Array(String)}) OR has({category:Array(String)}, category))
  AND (empty({country:Array(String)}) OR has({country:Array(String)}, country))
