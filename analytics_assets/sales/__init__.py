"""The original Airflow examples' Example 1: sales_fact and the hourly dashboard datamarts."""
