-- Registry and the feed's table agree: no content loaded twice, no name loaded with two contents,
-- no rows from a file that is not registered as loaded (a load cut short).
SELECT twice + renamed + orphans,
       concat('content loaded twice: ', toString(twice), ', name loaded with two contents: ', toString(renamed),
              ', rows from unregistered files: ', toString(orphans))
FROM (
    SELECT
        (SELECT count() FROM (SELECT sha256 FROM $files WHERE status = 'loaded'
                              GROUP BY sha256 HAVING uniqExact(run_id) > 1)) AS twice,
        (SELECT count() FROM (SELECT file_name FROM $files FINAL WHERE status = 'loaded'
                              GROUP BY file_name HAVING count() > 1)) AS renamed,
        (SELECT count() FROM (SELECT DISTINCT source_file_id FROM $table)
         WHERE source_file_id NOT IN (SELECT source_file_id FROM $files FINAL
                                      WHERE status = 'loaded')) AS orphans
)
