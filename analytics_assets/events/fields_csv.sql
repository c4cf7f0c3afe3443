-- CSV event lines, split into fields by landing/csv_split.sql -> text fields, by the column
-- positions in the header (an absent column's position is past the last field: it reads as
-- empty). properties holds a JSON object of strings or numbers, optional.
SELECT
    source_file_id,
    line_no,
    line,
    nullIf(trimBoth(f[{event_time_col:UInt32}]), '') AS ts_text,
    nullIf(trimBoth(f[{event_name_col:UInt32}]), '') AS name_text,
    nullIf(trimBoth(f[{user_id_col:UInt32}]), '') AS user_text,
    nullIf(trimBoth(f[{session_id_col:UInt32}]), '') AS session_text,
    nullIf(trimBoth(f[{customer_id_col:UInt32}]), '') AS customer_text,
    trimBoth(f[{properties_col:UInt32}]) AS properties_text,
    JSONExtractKeysAndValuesRaw(properties_text) AS raw_properties,
    mapFromArrays(arrayMap(kv -> kv.1, raw_properties),
                  arrayMap(kv -> if(startsWith(kv.2, '"'), JSONExtractString(kv.2), kv.2), raw_properties)) AS properties,
    shape_error,
    if(empty(raw_properties) AND properties_text NOT IN ('', '{}') AND JSONType(properties_text) != 'Object',
       'properties is not a JSON object', '') AS properties_error
FROM ($csv_split)
