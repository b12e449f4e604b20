SELECT file_name, batch_id FROM ingested_file WHERE channel = :channel AND file_sha256 = :file_sha256
