-- Validates event rows, already split into text fields by fields_ndjson.sql or fields_csv.sql,
-- and writes every row with its error (empty = good). Reasons are computed only for bad rows:
-- multiIf evaluates lazily. Times: ISO 8601, `T` or space, optional fraction (kept to the
-- millisecond) and zone (`Z`, `+02:00`; none means UTC).
INSERT INTO $parsed (source_file_id, line_no, event_time, event_name, user_id, session_id, customer_id, properties,
                     error, line)
SELECT
    source_file_id,
    line_no,
    ifNull(ts, toDateTime64(0, 3, 'UTC')),
    ifNull(name_text, ''),
    ifNull(user_text, ''),
    ifNull(session_text, ''),
    customer,
    properties,
    multiIf(
        shape_error != '', shape_error,
        ifNull(ts_text, '') = '', 'event_time is missing',
        ts IS NULL OR ts < toDateTime64(0, 3, 'UTC'),
            concat('event_time "', left(ts_text, 40), '" is not an ISO 8601 time (1970 or later)'),
        ts > {latest:DateTime('UTC')},
            concat('event_time ', toString(ts), ' is in the future (later than ', toString({latest:DateTime('UTC')}), ')'),
        ifNull(name_text, '') = '', 'event_name is missing',
        length(name_text) > 100 OR NOT match(name_text, '^[A-Za-z][A-Za-z0-9_.:-]*$$'),
            concat('event_name "', left(name_text, 40), '" is not a name (a letter, then letters, digits, _ . : -; at most 100)'),
        ifNull(user_text, '') = '', 'user_id is missing',
        length(user_text) > 200 OR match(user_text, '[\\x00-\\x1f]'),
            concat('user_id "', left(user_text, 40), '" is not an id (control characters or over 200 characters)'),
        length(ifNull(session_text, '')) > 200 OR match(ifNull(session_text, ''), '[\\x00-\\x1f]'),
            concat('session_id "', left(session_text, 40), '" is not an id (control characters or over 200 characters)'),
        customer_text IS NOT NULL AND customer IS NULL,
            concat('customer_id "', left(customer_text, 40), '" is not a positive integer'),
        properties_error != '', properties_error,
        '') AS error,
    if(error = '', '', line)
FROM (
    SELECT
        *,
        if(match(ifNull(ts_text, ''), '^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:?\\d{2})?$$'),
           parseDateTime64BestEffortOrNull(ts_text, 3, 'UTC'), NULL) AS ts,
        if(match(ifNull(customer_text, ''), '^[0-9]{1,19}$$'), nullIf(toUInt64OrZero(customer_text), 0), NULL) AS customer
    FROM ($fields)
)
