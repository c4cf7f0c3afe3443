-- CSV landing lines -> their fields `f` (quotes removed, "" unescaped) and what is wrong with a
-- line's shape. One record per line (a quoted field may not span lines); line 1, the header, and
-- empty lines are left out. A feed's fields_csv.sql picks its columns out of `f` by the
-- positions in the header.
SELECT
    source_file_id,
    line_no,
    line,
    f,
    multiIf(countSubstrings(line, '"') % 2 = 1, 'a quoted field is not closed (an odd number of double quotes)',
            length(f) != {columns:UInt32},
            concat('expected ', toString({columns:UInt32}), ' fields, found ', toString(length(f))), '') AS shape_error
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
