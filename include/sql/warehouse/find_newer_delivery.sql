-- A later delivery, under the same file name, of a file whose content (the given sha256) was already
-- ingested: a corrected re-export that replaced it. Replaying the older content must not undo
-- the correction. The newest such delivery, if any.
SELECT n.file_name, n.batch_id, n.ingested_at
  FROM ingested_file n
  JOIN ingested_file o ON o.channel = n.channel AND o.file_name = n.file_name
 WHERE o.channel = :channel
   AND o.file_sha256 = :file_sha256
   AND o.file_name = :file_name
   AND n.file_sha256 <> o.file_sha256
   AND n.ingested_at > o.ingested_at
 ORDER BY n.ingested_at DESC
 LIMIT 1
