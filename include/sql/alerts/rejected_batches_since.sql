-- The channel's batches held by the quarantine threshold that were written since the start
-- of the failed task try (naive UTC): the batches a quality-gate alert is about, with the
-- ledger's message (counts and share, never row content).
SELECT batch_id, source_part, rows_read, rows_quarantined, message, finished_at
  FROM ingest_batch
 WHERE channel = :channel
   AND outcome = :rejected
   AND finished_at >= :since
 ORDER BY source_part, batch_id
