-- Move the staged status changes of a batch into the history (stage_tables.sql); a change
-- already recorded is left as it is, and of one staged twice the first staged row is kept.
INSERT INTO complaint_status_history (channel, source_id, changed_at, status, note, batch_id)
SELECT channel, source_id, changed_at, status, note, batch_id
  FROM (
        SELECT s.*, ROW_NUMBER() OVER (
                   PARTITION BY channel, source_id, changed_at, status ORDER BY ord
               ) AS pick
          FROM stage_status_history s
       ) staged
 WHERE pick = 1
ON CONFLICT (channel, source_id, changed_at, status) DO NOTHING
