-- One status change into the batch's staging table (SQLite; PostgreSQL uses COPY).
INSERT INTO stage_status_history (channel, source_id, changed_at, status, note, batch_id, ord)
VALUES (:channel, :source_id, :changed_at, :status, :note, :batch_id, :ord)
