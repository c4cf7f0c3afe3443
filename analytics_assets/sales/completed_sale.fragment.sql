-- Which sales count (orders, revenue, customers' purchases): the completed ones, the original
-- Airflow examples' rule. A predicate over sales_fact's columns (or a copy of its rows), spliced
-- into a WHERE by the SQL loader (warehouse/sql.py); the one place this rule is written.
status = 'COMPLETED'
