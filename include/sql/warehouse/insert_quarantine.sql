INSERT INTO quarantine (batch_id, row_number, channel, source_id, reasons, raw_record)
VALUES (:batch_id, :row_number, :channel, :source_id, :reasons, :raw_record)
