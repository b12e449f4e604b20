-- The 'unmapped values' summary: every source label the pipeline stored as 'unmapped' because no
-- crosswalk line maps it yet, with how many complaints carry it now and their received dates, so
-- whoever keeps include/config/pipeline.yaml knows which line to add (channels.<channel>.crosswalk.
-- units / categories / statuses). A complaint re-loaded after the line was added no longer counts.
-- The channel parameter NULL = every channel.
SELECT channel, kind, raw_value, COUNT(*) AS complaints,
       MIN(received_date) AS first_received, MAX(received_date) AS last_received
  FROM (
        SELECT channel, 'unit' AS kind, unmapped_unit AS raw_value, received_date
          FROM complaint WHERE unmapped_unit IS NOT NULL
        UNION ALL
        SELECT channel, 'category' AS kind, unmapped_category AS raw_value, received_date
          FROM complaint WHERE unmapped_category IS NOT NULL
        UNION ALL
        SELECT channel, 'status' AS kind, unmapped_status AS raw_value, received_date
          FROM complaint WHERE unmapped_status IS NOT NULL
       ) unmapped
 WHERE :channel IS NULL OR channel = :channel
 GROUP BY channel, kind, raw_value
 ORDER BY channel, kind, COUNT(*) DESC, raw_value
