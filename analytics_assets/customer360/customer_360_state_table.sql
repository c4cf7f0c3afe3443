-- What customer_360's last build saw: sales_fact_state's marks at the time (replica, table UUID,
-- synced_through), `_as_of` (its logical time), `_segments` (customer_segments' table UUID, zero
-- while missing), the layout version; `_applying` while a refresh changes its own tables.
CREATE TABLE $target
(
    name            String,
    table_uuid      UUID,
    synced_through  Nullable(DateTime64(6, 'UTC'))
)
ENGINE = MergeTree
ORDER BY name
