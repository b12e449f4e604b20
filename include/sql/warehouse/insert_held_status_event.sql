-- A status change whose complaint the batch did not load: held until the complaint is in the
-- warehouse (see held_status_event in schema.sql). Re-running the batch holds nothing twice.
INSERT INTO held_status_event (batch_id, channel, source_id, changed_at, status, note, applied_batch_id)
VALUES (:batch_id, :channel, :source_id, :changed_at, :status, :note, NULL)
ON CONFLICT (batch_id, channel, source_id, changed_at, status) DO NOTHING
