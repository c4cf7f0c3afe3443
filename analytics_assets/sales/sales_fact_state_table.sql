-- What sales_fact has applied: for each replica, the table it read (a full resync of a replica
-- makes a new table, and then the fact is rebuilt) and the newest _synced_at it has seen.
-- Written last, after a refresh succeeded: a refresh that failed half-way is re-applied whole.
CREATE TABLE $target
(
    replica         String,
    table_uuid      UUID,
    synced_through  Nullable(DateTime64(6, 'UTC'))
)
ENGINE = MergeTree
ORDER BY replica
