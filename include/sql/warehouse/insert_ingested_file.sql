INSERT INTO ingested_file (channel, file_sha256, file_name, batch_id, ingested_at)
VALUES (:channel, :file_sha256, :file_name, :batch_id, :ingested_at)
ON CONFLICT (channel, file_sha256) DO NOTHING
