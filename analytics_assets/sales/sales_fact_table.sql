-- sales_fact: every sale (bad rows included: the marts decide, checks surface them), with the
-- customer's and product's attributes denormalized in. Partitioned by month (a window prunes
-- whole months), sorted by day for the marts' date windows.
CREATE TABLE $target
(
    sale_id              Int64 COMMENT 'The sale (raw_sales.sale_id)' CODEC(Delta, ZSTD(1)),
    sale_day             Date32 COMMENT 'Day of sale_date (UTC); 1970-01-01 when sale_date is NULL' CODEC(Delta, ZSTD(1)),
    sale_date            Nullable(DateTime64(6, 'UTC')) COMMENT 'When the sale was made (UTC)' CODEC(ZSTD(1)),
    customer_id          Nullable(Int64) COMMENT 'The customer who bought' CODEC(ZSTD(1)),
    product_id           Nullable(Int64) COMMENT 'The product sold' CODEC(ZSTD(1)),
    quantity             Nullable(Int64) COMMENT 'Units sold' CODEC(ZSTD(1)),
    unit_price           Nullable(Decimal(18, 2)) COMMENT 'Price per unit' CODEC(ZSTD(1)),
    total_amount         Nullable(Decimal(18, 2)) COMMENT 'Gross amount of the sale' CODEC(ZSTD(1)),
    discount_amount      Nullable(Decimal(18, 2)) COMMENT 'Discount granted' CODEC(ZSTD(1)),
    tax_amount           Nullable(Decimal(18, 2)) COMMENT 'Tax on the sale' CODEC(ZSTD(1)),
    net_amount           Nullable(Decimal(18, 2)) COMMENT 'total_amount - discount_amount: the revenue counted' CODEC(ZSTD(1)),
    status               LowCardinality(Nullable(String)) COMMENT 'COMPLETED, PENDING, CANCELLED or REFUNDED (only COMPLETED sales count)',
    customer_found       UInt8 COMMENT '1 if the customer exists in raw_customers (the original examples'' inner join)',
    customer_name        Nullable(String) COMMENT 'Customer name' CODEC(ZSTD(3)),
    customer_segment     LowCardinality(Nullable(String)) COMMENT 'Customer segment (Enterprise, SMB, Consumer, ...)',
    region               LowCardinality(Nullable(String)) COMMENT 'Customer region',
    country              LowCardinality(Nullable(String)) COMMENT 'Customer country',
    state                LowCardinality(Nullable(String)) COMMENT 'Customer state or province',
    product_found        UInt8 COMMENT '1 if the product exists in raw_products (the original examples'' inner join)',
    product_name         Nullable(String) COMMENT 'Product name' CODEC(ZSTD(3)),
    category             LowCardinality(Nullable(String)) COMMENT 'Product category',
    subcategory          LowCardinality(Nullable(String)) COMMENT 'Product subcategory',
    updated_at           DateTime64(6, 'UTC') COMMENT 'When the sale''s row last changed in PostgreSQL' CODEC(Delta, ZSTD(1)),
    customer_updated_at  Nullable(DateTime64(6, 'UTC')) COMMENT 'When the customer''s row last changed in PostgreSQL',
    product_updated_at   Nullable(DateTime64(6, 'UTC')) COMMENT 'When the product''s row last changed in PostgreSQL',
    anomalies            Array(LowCardinality(String)) COMMENT 'What is wrong with the row itself (source_anomalies reads it)',
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
