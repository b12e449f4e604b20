INSERT INTO ingest_batch (
    batch_id, channel, interval_start, interval_end, source_part, rows_read, rows_loaded,
    rows_quarantined, checksum, outcome, message, finished_at, status_events_held,
    content_sha256
) VALUES (
    :batch_id, :channel, :interval_start, :interval_end, :source_part, :rows_read, :rows_loaded,
    :rows_quarantined, :checksum, :outcome, :message, :finished_at, :status_events_held,
    :content_sha256
)
ON CONFLICT (batch_id) DO UPDATE SET
    rows_read = excluded.rows_read,
    rows_loaded = excluded.rows_loaded,
    rows_quarantined = excluded.rows_quarantined,
    checksum = excluded.checksum,
    outcome = excluded.outcome,
    message = excluded.message,
    finished_at = excluded.finished_at,
    status_events_held = excluded.status_events_held,
    content_sha256 = excluded.content_sha256
