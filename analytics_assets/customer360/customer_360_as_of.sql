-- The previous version's rows, moved to the new logical time (the touched customers' rows are
-- then replaced whole): as_of, and days_since_last_purchase as customer_360.sql computes it.
ALTER TABLE $target UPDATE
    as_of = {as_of:DateTime64(6, 'UTC')},
    days_since_last_purchase = if(last_purchase_date IS NULL, NULL,
                                  dateDiff('day', last_purchase_date, {as_of_date:Date32}))
WHERE 1
SETTINGS mutations_sync = 2;
