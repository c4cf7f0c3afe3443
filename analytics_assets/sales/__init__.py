"""The seed's Example 1: sales_fact and the hourly dashboard datamarts."""
