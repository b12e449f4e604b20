-- The channel's newest batch that loaded at least one row: the end of the interval it
-- covered (naive UTC) is how far the channel's data reaches. A rejected, empty or
-- duplicate-delivery batch brought no new data and does not count.
SELECT batch_id, source_part, interval_start, interval_end, rows_loaded, finished_at
  FROM ingest_batch
 WHERE channel = :channel
   AND rows_loaded > 0
 ORDER BY interval_end DESC, finished_at DESC
 LIMIT 1
