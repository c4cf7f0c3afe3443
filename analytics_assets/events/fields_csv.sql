-- CSV event lines -> text fields, by the column positions in the header (an absent
-- column's position is past the last field: it reads as empty).
-- One record per line (a quoted field may not span lines); properties holds a JSON object of
-- strings or numbers, optional. Line 1 is the header.
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
    multiIf(countSubstrings(line, '"') % 2 = 1, 'a quoted field is not closed (an odd number of double quotes)',
            length(f) != {columns:UInt32},
            concat('expected ', toString({columns:UInt32}), ' fields, found ', toString(length(f))), '') AS shape_error,
    if(empty(raw_properties) AND properties_text NOT IN ('', '{}') AND JSONType(properties_text) != 'Object',
       'properties is not a JSON object', '') AS properties_error
FROM (
    SELECT
        source_file_id,
        line_no,
        line,
        extractAllGroupsHorizontal(line, '(?:^|,)(?:"((?:[^"]|"")*)"|([^,"]*))') AS g,
        arrayMap((quoted, plain) -> if(quoted != '', replaceAll(quoted, '""', '"'), plain), g[1], g[2]) AS f
    FROM (SELECT source_file_id, line_no, trimRight(line, '\r\n') AS line FROM $lines
          WHERE source_file_id = {file_id:UInt64} AND line_no > 1)
    WHERE line != ''
)
