-- The source (OLTP) schema: the original Airflow examples' tables and columns plus updated_at on each.
-- No foreign keys: real exports carry orphan keys, and the pipeline must surface them, not
-- be prevented from seeing them. updated_at drives incremental replication.
CREATE TABLE IF NOT EXISTS customers (
    customer_id      bigint PRIMARY KEY,
    customer_name    text,
    email            text,
    signup_date      date,
    customer_segment text,
    region           text,
    country          text,
    state            text,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS products (
    product_id   bigint PRIMARY KEY,
    product_name text,
    category     text,
    subcategory  text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sales (
    sale_id         bigint PRIMARY KEY,
    customer_id     bigint,
    product_id      bigint,
    sale_date       timestamptz,
    quantity        integer,
    unit_price      numeric(12, 2),
    total_amount    numeric(12, 2),
    discount_amount numeric(12, 2),
    tax_amount      numeric(12, 2),
    status          text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS customers_updated_at_idx ON customers (updated_at);
CREATE INDEX IF NOT EXISTS products_updated_at_idx ON products (updated_at);
CREATE INDEX IF NOT EXISTS sales_updated_at_idx ON sales (updated_at);
CREATE INDEX IF NOT EXISTS sales_sale_date_idx ON sales (sale_date);
