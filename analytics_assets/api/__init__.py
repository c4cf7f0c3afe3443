"""The original Airflow examples' datamart API over HTTP (`analytics-assets api`)."""
