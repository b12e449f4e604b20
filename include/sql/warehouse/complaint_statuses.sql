-- The stored status of some complaints of one channel (source_ids: an expanding list):
-- the Traffy Exchange adapter asks get-issue/v1 for the timeline of those whose state changed.
SELECT source_id, status
  FROM complaint
 WHERE channel = :channel
   AND source_id IN :source_ids
