-- The held status changes apply_held_status_events.sql has just copied: mark them with the
-- batch that applied them (they stay in held_status_event as the record of the late arrival).
UPDATE held_status_event
   SET applied_batch_id = :batch_id
 WHERE channel = :channel
   AND applied_batch_id IS NULL
   AND EXISTS (
       SELECT 1 FROM complaint c
        WHERE c.channel = held_status_event.channel AND c.source_id = held_status_event.source_id
   )
