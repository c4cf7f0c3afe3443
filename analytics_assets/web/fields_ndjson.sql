-- NDJSON landing lines -> fields: one JSON parse per line; the costly diagnosis of a broken
-- line (not JSON, not an object, wrong-typed dimensions/tags) runs only when a field is missing.
SELECT
    source_file_id,
    line_no,
    line,
    p.1 AS ts_text,
    p.2 AS name_text,
    p.3 AS value_text,
    p.4 AS dimensions,
    p.5 AS tags,
    if(NOT startsWith(line, '{') OR p.1 IS NULL OR p.2 IS NULL OR p.3 IS NULL,
       multiIf(NOT isValidJSON(line), 'not valid JSON', JSONType(line) != 'Object', 'not a JSON object', ''),
       '') AS shape_error,
    if(empty(dimensions) AND JSONType(line, 'dimensions') NOT IN ('Null', 'Object'),
       'dimensions is not an object of strings', '') AS dimensions_error,
    if(empty(tags) AND JSONType(line, 'tags') NOT IN ('Null', 'Array'),
       'tags is not an array of strings', '') AS tags_error
FROM (
    SELECT
        source_file_id,
        line_no,
        trimRight(line, '\r\n') AS line,
        JSONExtract(line, {row_type:String}) AS p
    FROM $lines
    WHERE source_file_id IN {file_ids:Array(UInt64)}
)
WHERE line != ''
