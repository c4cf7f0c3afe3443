-- CSV landing lines -> fields, by the column positions in the header (an absent
-- column's position is past the last field: it reads as empty).
-- One record per line (a quoted field may not span lines); dimensions holds a JSON object,
-- tags a JSON array, both optional. Line 1 is the header.
SELECT
    source_file_id,
    line_no,
    line,
    nullIf(trimBoth(f[{timestamp_col:UInt32}]), '') AS ts_text,
    nullIf(trimBoth(f[{metric_name_col:UInt32}]), '') AS name_text,
    nullIf(trimBoth(f[{metric_value_col:UInt32}]), '') AS value_text,
    trimBoth(f[{dimensions_col:UInt32}]) AS dimensions_text,
    trimBoth(f[{tags_col:UInt32}]) AS tags_text,
    if(dimensions_text = '', map(), JSONExtract(dimensions_text, 'Map(String, String)')) AS dimensions,
    if(tags_text = '', [], JSONExtract(tags_text, 'Array(String)')) AS tags,
    multiIf(countSubstrings(line, '"') % 2 = 1, 'a quoted field is not closed (an odd number of double quotes)',
            length(f) != {columns:UInt32},
            concat('expected ', toString({columns:UInt32}), ' fields, found ', toString(length(f))), '') AS shape_error,
    if(empty(dimensions) AND dimensions_text NOT IN ('', '{}') AND JSONType(dimensions_text) != 'Object',
       'dimensions is not a JSON object of strings', '') AS dimensions_error,
    if(empty(tags) AND tags_text NOT IN ('', '[]') AND JSONType(tags_text) != 'Array',
       'tags is not a JSON array of strings', '') AS tags_error
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
