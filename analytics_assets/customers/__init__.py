"""The original Airflow examples' Example 2: RFM, behaviour clusters, CLV and customer segments, daily."""
