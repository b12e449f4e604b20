-- Copy the held status changes of the channel whose complaint is now in the warehouse into
-- complaint_status_history, under the batch that delivered them (the earliest, if several
-- batches held the same change). Runs in the loading batch's transaction, before
-- mark_held_status_events_applied.sql.
INSERT INTO complaint_status_history (channel, source_id, changed_at, status, note, batch_id)
SELECT h.channel, h.source_id, h.changed_at, h.status, MIN(h.note), MIN(h.batch_id)
  FROM held_status_event h
 WHERE h.channel = :channel
   AND h.applied_batch_id IS NULL
   AND EXISTS (SELECT 1 FROM complaint c WHERE c.channel = h.channel AND c.source_id = h.source_id)
 GROUP BY h.channel, h.source_id, h.changed_at, h.status
ON CONFLICT (channel, source_id, changed_at, status) DO NOTHING
