INSERT INTO complaint_status_history (channel, source_id, changed_at, status, note, batch_id)
VALUES (:channel, :source_id, :changed_at, :status, :note, :batch_id)
ON CONFLICT (channel, source_id, changed_at, status) DO NOTHING
