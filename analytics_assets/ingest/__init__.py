"""Raw replicas of the source tables, kept in step with PostgreSQL incrementally."""
