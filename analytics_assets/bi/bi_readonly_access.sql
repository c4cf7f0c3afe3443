-- A read-only role and user for BI tools: SELECT on the analytics database only, readonly = 1,
-- and limits so that one dashboard cannot take the server down. The landing registries and
-- quarantines are revoked right after the GRANT (bi/assets.py) unless ANALYTICS_BI_READ_LANDING_TABLES.
CREATE ROLE IF NOT EXISTS $role;
GRANT SELECT ON $database.* TO $role;
CREATE SETTINGS PROFILE IF NOT EXISTS $profile SETTINGS readonly = 1, max_execution_time = 120,
    max_memory_usage = 8000000000, max_result_rows = 50000000, max_threads = 4 TO $role;
CREATE USER IF NOT EXISTS $user IDENTIFIED WITH sha256_hash BY '$password_sha256'
    DEFAULT ROLE $role DEFAULT DATABASE $database;
