-- CSV metric lines, split into fields by landing/csv_split.sql -> text fields, by the column
-- positions in the header (an absent column's position is past the last field: it reads as
-- empty). dimensions holds a JSON object, tags a JSON array, both optional.
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
    shape_error,
    if(empty(dimensions) AND dimensions_text NOT IN ('', '{}') AND JSONType(dimensions_text) != 'Object',
       'dimensions is not a JSON object of strings', '') AS dimensions_error,
    if(empty(tags) AND tags_text NOT IN ('', '[]') AND JSONType(tags_text) != 'Array',
       'tags is not a JSON array of strings', '') AS tags_error
FROM ($csv_split)
