-- What an alert shows on-call to inspect a batch held in quarantine (the batch id is
-- filled in): why each row failed and its pseudonymised raw record.
SELECT row_number, source_id, reasons, raw_record
  FROM quarantine
 WHERE batch_id = :batch_id
 ORDER BY row_number
