-- The naive quarterly reference's read of complaint_status_history: whole table, only the
-- columns it needs to take each matter's status as of the cut-off.
SELECT channel, source_id, changed_at, status FROM complaint_status_history
