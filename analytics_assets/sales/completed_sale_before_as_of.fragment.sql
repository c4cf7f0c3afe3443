-- The sales counted as of the run's logical time: completed, and made before it (a sale dated at
-- or after the logical time is not yet known to that run). Binds {as_of:DateTime64(6, 'UTC')}.
({{ sales/completed_sale }} AND sale_date < {as_of:DateTime64(6, 'UTC')})
