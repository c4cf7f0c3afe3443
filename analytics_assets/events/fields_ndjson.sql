-- NDJSON event lines -> text fields: one JSON parse per line; `properties` keeps every value as
-- text (a number as its JSON text, a string unquoted). The costly diagnosis of a broken line
-- runs only when a required field is missing.
SELECT
    source_file_id,
    line_no,
    line,
    p.1 AS ts_text,
    p.2 AS name_text,
    p.3 AS user_text,
    p.4 AS session_text,
    p.5 AS customer_text,
    mapFromArrays(arrayMap(kv -> kv.1, raw_properties),
                  arrayMap(kv -> if(startsWith(kv.2, '"'), JSONExtractString(kv.2), kv.2), raw_properties)) AS properties,
    if(NOT startsWith(line, '{') OR p.1 IS NULL OR p.2 IS NULL OR p.3 IS NULL,
       multiIf(NOT isValidJSON(line), 'not valid JSON', JSONType(line) != 'Object', 'not a JSON object', ''),
       '') AS shape_error,
    if(empty(raw_properties) AND JSONType(line, 'properties') NOT IN ('Null', 'Object'),
       'properties is not a JSON object', '') AS properties_error
FROM (
    SELECT
        source_file_id,
        line_no,
        trimRight(line, '\r\n') AS line,
        JSONExtract(line, {row_type:String}) AS p,
        JSONExtractKeysAndValuesRaw(line, 'properties') AS raw_properties
    FROM $lines
    WHERE source_file_id IN {file_ids:Array(UInt64)}
)
WHERE line != ''
