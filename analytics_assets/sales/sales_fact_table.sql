-- sales_fact: every sale (bad rows included: the marts decide, checks surface them), with the
-- customer's and product's attributes denormalized in. Partitioned by month (a window prunes
-- whole months), sorted by day for the marts' date windows.
CREATE TABLE $target
(
    sale_id              Int64 CODEC(Delta, ZSTD(1)),
    sale_day             Date32 CODEC(Delta, ZSTD(1)),
    sale_date            Nullable(DateTime64(6, 'UTC')) CODEC(ZSTD(1)),
    customer_id          Nullable(Int64) CODEC(ZSTD(1)),
    product_id           Nullable(Int64) CODEC(ZSTD(1)),
    quantity             Nullable(Int64) CODEC(ZSTD(1)),
    unit_price           Nullable(Decimal(18, 2)) CODEC(ZSTD(1)),
    total_amount         Nullable(Decimal(18, 2)) CODEC(ZSTD(1)),
    discount_amount      Nullable(Decimal(18, 2)) CODEC(ZSTD(1)),
    tax_amount           Nullable(Decimal(18, 2)) CODEC(ZSTD(1)),
    net_amount           Nullable(Decimal(18, 2)) CODEC(ZSTD(1)),
    status               LowCardinality(Nullable(String)),
    customer_found       UInt8,
    customer_name        Nullable(String) CODEC(ZSTD(3)),
    customer_segment     LowCardinality(Nullable(String)),
    region               LowCardinality(Nullable(String)),
    country              LowCardinality(Nullable(String)),
    state                LowCardinality(Nullable(String)),
    product_found        UInt8,
    product_name         Nullable(String) CODEC(ZSTD(3)),
    category             LowCardinality(Nullable(String)),
    subcategory          LowCardinality(Nullable(String)),
    updated_at           DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    customer_updated_at  Nullable(DateTime64(6, 'UTC')),
    product_updated_at   Nullable(DateTime64(6, 'UTC')),
    anomalies            Array(LowCardinality(String)),
    -- The refresh finds changed sales by sale_id and patched customers by customer_id: sale ids
    -- grow with time, so a granule's min/max is narrow; a customer's sales are everywhere, so a
    -- bloom filter. Both turn a scan of the whole column into a few granules.
    INDEX sale_idx sale_id TYPE minmax GRANULARITY 1,
    INDEX customer_bf customer_id TYPE bloom_filter GRANULARITY 1,
    INDEX customer_idx customer_id TYPE minmax GRANULARITY 4,
    INDEX category_idx category TYPE set(100) GRANULARITY 4,
    INDEX status_idx status TYPE set(16) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(sale_day)
ORDER BY (sale_day, sale_id)
-- Needed by lightweight UPDATEs (customer and product attributes patched in place).
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1
