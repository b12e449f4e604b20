DELETE FROM quarantine WHERE batch_id = :batch_id
