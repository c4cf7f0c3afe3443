-- sales_fact_daily: sales_by_day.sql's rows for every day sales_fact holds, kept by sales_fact's
-- refresh for the days its changes touched (new, changed, moved or removed sales, and every day of
-- a customer or product whose attributes changed). A day's new version replaces the old one
-- (FINAL); a day left without completed sales becomes a tombstone.
CREATE TABLE $target
(
    sale_day                Date32,
    total_orders            UInt64,
    unique_customers        UInt64,
    total_units_sold        Nullable(Int64),
    gross_revenue           Nullable(Decimal(18, 2)),
    total_discounts         Nullable(Decimal(18, 2)),
    net_revenue             Nullable(Decimal(18, 2)),
    avg_order_value         Nullable(Decimal(18, 2)),
    enterprise_revenue      Nullable(Decimal(18, 2)),
    smb_revenue             Nullable(Decimal(18, 2)),
    consumer_revenue        Nullable(Decimal(18, 2)),
    other_segment_revenue   Nullable(Decimal(18, 2)),
    na_revenue              Nullable(Decimal(18, 2)),
    emea_revenue            Nullable(Decimal(18, 2)),
    apac_revenue            Nullable(Decimal(18, 2)),
    other_region_revenue    Nullable(Decimal(18, 2)),
    electronics_revenue     Nullable(Decimal(18, 2)),
    apparel_revenue         Nullable(Decimal(18, 2)),
    home_revenue            Nullable(Decimal(18, 2)),
    other_category_revenue  Nullable(Decimal(18, 2)),
    items_per_order         Nullable(Float64),
    discount_rate           Nullable(Float64),
    completed_orders        UInt64,
    completed_net_revenue   Nullable(Decimal(18, 2)),
    _version                DateTime64(6, 'UTC'),
    _is_deleted             UInt8
)
ENGINE = ReplacingMergeTree(_version, _is_deleted)
ORDER BY sale_day
