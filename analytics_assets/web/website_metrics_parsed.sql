-- Validates landing rows, already split into fields by fields_ndjson.sql or fields_csv.sql,
-- and writes every row with its error (empty = good). Reasons are computed only for bad rows:
-- multiIf evaluates lazily.
INSERT INTO $parsed (source_file_id, line_no, timestamp, metric_name, metric_value, dimensions, tags, error, line)
SELECT
    source_file_id,
    line_no,
    ifNull(ts, toDateTime(0, 'UTC')),
    ifNull(name_text, ''),
    ifNull(value, 0),
    dimensions,
    tags,
    multiIf(
        shape_error != '', shape_error,
        ifNull(ts_text, '') = '', 'timestamp is missing',
        ts IS NULL, concat('timestamp "', left(ts_text, 40), '" is not a UTC time YYYY-MM-DD HH:MM:SS (1970 or later)'),
        ts > {latest:DateTime('UTC')},
            concat('timestamp ', toString(ts), ' is in the future (later than ', toString({latest:DateTime('UTC')}), ')'),
        ifNull(name_text, '') = '', 'metric_name is missing',
        length(name_text) > 200 OR NOT match(name_text, '^[^\\x00-\\x1f{\\[][^\\x00-\\x1f]*$$'),
            concat('metric_name "', left(name_text, 40), '" is not a name (control characters, JSON, or over 200 characters)'),
        ifNull(value_text, '') = '', 'metric_value is missing',
        value IS NULL, concat('metric_value "', left(value_text, 40), '" is not a number'),
        NOT isFinite(value), concat('metric_value ', left(value_text, 40), ' is not finite'),
        dimensions_error != '', dimensions_error,
        tags_error != '', tags_error,
        '') AS error,
    if(error = '', '', line)
FROM (
    SELECT
        *,
        parseDateTimeOrNull(ts_text, '%Y-%m-%d %H:%i:%s', 'UTC') AS ts,
        toFloat64OrNull(value_text) AS value
    FROM ($fields)
)
